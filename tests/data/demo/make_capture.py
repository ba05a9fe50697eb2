"""Make `phone.har`, the sample phone capture `mouchard demo` imports: the first app-like requests of the
labelled corpus (tests/data/app_corpus, identifiers of demoweb/data/profiles/android.yml planted in many
encodings) written as a HAR file into demoweb/data/ (shipped with the demo web). Run: python tests/data/demo/make_capture.py
"""

import base64
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
CORPUS = HERE.parent / "app_corpus" / "corpus.jsonl"
OUT = HERE.parents[2] / "demoweb" / "data" / "phone.har"
REQUESTS = 60


def entry(request: dict, index: int) -> dict | None:
    body = base64.b64decode(request["body_b64"]) if request.get("body_b64") else b""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        return None  # HAR request bodies are text: binary ones stay in the corpus
    headers = [{"name": k, "value": v} for k, v in request["headers"]]
    if request.get("content_type"):
        headers.append({"name": "Content-Type", "value": request["content_type"]})
    har_request = {"method": request["method"], "url": request["url"], "httpVersion": "HTTP/1.1",
                   "headers": headers, "queryString": [], "cookies": [], "headersSize": -1, "bodySize": len(body)}
    if body:
        har_request["postData"] = {"mimeType": request.get("content_type") or "application/octet-stream",
                                   "text": text}
    return {"startedDateTime": f"2026-11-22T10:{index // 60:02d}:{index % 60:02d}.000Z", "time": 50,
            "request": har_request,
            "response": {"status": 200, "statusText": "OK", "httpVersion": "HTTP/1.1",
                         "headers": [{"name": "Content-Type", "value": "application/json"}], "cookies": [],
                         "content": {"size": 2, "mimeType": "application/json", "text": "{}"},
                         "redirectURL": "", "headersSize": -1, "bodySize": 2},
            "cache": {}, "timings": {"send": 1, "wait": 48, "receive": 1}}


def main() -> None:
    entries = []
    for line in CORPUS.read_text(encoding="utf-8").splitlines():
        request = json.loads(line)
        if request.get("type") != "http" or request.get("content_encoding"):
            continue
        made = entry(request, len(entries))
        if made:
            entries.append(made)
        if len(entries) == REQUESTS:
            break
    har = {"log": {"version": "1.2", "creator": {"name": "mouchard demo", "version": "1"}, "entries": entries}}
    OUT.write_text(json.dumps(har, indent=1), encoding="utf-8")
    print(f"{len(entries)} requests written to {OUT}")


if __name__ == "__main__":
    main()

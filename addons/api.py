"""The proxy and capture imports as Python functions: what `mouchard proxy` and `mouchard import` run.

    from addons.api import import_capture, proxy

    result = import_capture("phone.har", db="capture.db", profile="device.yml", app="com.example.game")
    result.crawl_id, result.status, result.summary      # 1, "finished", {"flows": 12, ...}

    proxy(db="capture.db", profile="device.yml", port=8080, listen_host="")   # blocks; Ctrl-C ends it

Both run the `mitmdump` of this environment as a subprocess with `addons/mouchard_addons.py`, so a live capture
and an import go through the same code. The run's `crawls` row is created here (kind `app` or `import`, with the
command, the profile's kinds — never its values — and the network options) and finished by the addons.

The device profile is parsed once, here (`mouchard.identify.profile.load_profile`), and that object is what the addons get:
mitmdump is another process, so it receives the parsed profile written back to a private file
(`DeviceProfile.as_data`), never the user's file read a second time. Errors are `UserError` with one line; nothing
here prints (the CLI, addons/cli.py, prints `addons.summary`).
"""

from __future__ import annotations

import json
import signal
import sys
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from mouchard.errors import UserError
from mouchard.net import NetworkOptions
from mouchard.identify.profile import DeviceProfile

DEFAULT_CONFDIR = "~/.mitmproxy"
DEFAULT_MODES = ("regular",)
STOP_POLL = 0.5  # seconds between looks at a `stop` event's owner thread: how fast a library stop is seen


@dataclass(frozen=True)
class RunResult:
    """One proxy or import run: its `crawls` row's id, status (`finished`, `interrupted`, `failed`) and summary."""

    crawl_id: int
    status: str
    summary: dict
    db: str


@dataclass(frozen=True)
class ProxyResult(RunResult):
    """A `proxy` run; `modes` are the mitmproxy modes it listened with."""

    modes: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportResult(RunResult):
    """An `import_capture` run. `format`: mitm, har, pcap, pcapng, ios-privacy-report or
    pcapdroid-connections; `details`: what the conversion of a packet capture or HAR found (crawls.config)."""

    format: str = ""
    details: dict = field(default_factory=dict)


class RunFailed(UserError):
    """mitmdump could not finish the run; `result` is the run as recorded (its summary says how far it got)."""

    def __init__(self, message: str, result: RunResult) -> None:
        super().__init__(message)
        self.result = result


def mitmdump_path() -> Path:
    """The mitmdump installed next to this Python (the same environment as mouchard)."""
    path = Path(sys.executable).parent / "mitmdump"
    if not path.exists():
        raise UserError(f"mitmdump not found next to {sys.executable}: pip install 'mitmproxy>=12,<13'")
    return path


def addons_script() -> Path:
    return Path(__file__).resolve().parent / "mouchard_addons.py"


def ca_instructions(confdir: str | Path = DEFAULT_CONFDIR) -> str:
    """Where the proxy's CA certificate is and how to install it on a phone (the CLI prints it at start)."""
    confdir = Path(confdir).expanduser()
    pem, cer = confdir / "mitmproxy-ca-cert.pem", confdir / "mitmproxy-ca-cert.cer"
    state = "" if pem.exists() else " (created on first start)"
    return (f"mitmproxy CA certificate: {pem}{state}\n"
            f"  Android: copy {cer} to the phone, Settings > Security > Encryption & credentials > Install a\n"
            f"    certificate > CA certificate. Apps targeting Android 7+ only trust user CAs if they opt in: use an\n"
            f"    emulator image without Play Store (adb root) or a rooted test phone to install it as a system CA.\n"
            f"  iOS: browse to http://mitm.it through the proxy (or AirDrop {pem}), install the profile in Settings >\n"
            f"    General > VPN & Device Management, then Settings > General > About > Certificate Trust Settings.\n"
            f"  See docs/apps.md.")


def proxy(*, db: str | Path, profile: DeviceProfile | str | Path | None = None, app: str | None = None,
          port: int = 8080, listen_host: str = "127.0.0.1", modes: Sequence[str] = DEFAULT_MODES,
          keep_bodies: str | Path | None = None, confdir: str | Path = DEFAULT_CONFDIR, block_quic: bool = True,
          mitm_options: Sequence[str] = (), network: NetworkOptions | None = None, flow_detail: int = 0,
          stop: threading.Event | None = None, on_start: Callable[[int, str], None] | None = None,
          command: list[str] | None = None) -> ProxyResult:
    """Record a phone's traffic through mitmdump and mouchard's addons into `db`, until the proxy is stopped.

        from addons.api import proxy
        result = proxy(db="phone.db", profile="device.yml", app="com.example.game", listen_host="")
        print(result.status, result.summary["flows"])   # "interrupted" after Ctrl-C

    Blocks until mitmdump ends: SIGINT, SIGTERM or SIGHUP (or `stop.set()` from another thread, where signals
    cannot be handled) stops it and the run finishes `interrupted`. `listen_host=""` listens on every interface
    (so a phone can reach it). `modes` are mitmproxy modes (regular, wireguard, upstream:URL, socks5, local:APP...);
    `network.proxy` (an http(s) URL) replaces the regular mode with `upstream:URL`. `mitm_options` are other
    mitmproxy options as `NAME=VALUE`; `flow_detail` is how much of each flow mitmdump prints (0: nothing).
    `on_start(crawl_id, db)` is called once the run is recorded, just before mitmdump starts.
    `command` is what crawls.command records (default `sys.argv`). Raises UserError on bad arguments (before
    anything is recorded) and `RunFailed` if mitmdump fails.
    """
    net = network or NetworkOptions()
    modes = list(modes) or list(DEFAULT_MODES)
    if net.proxy:
        if not net.proxy.startswith("http") or modes != ["regular"]:
            raise UserError("--proxy with `mouchard proxy` must be an http(s) proxy and replaces --mode regular "
                            "(mitmproxy mode upstream:URL)")
        modes = [f"upstream:{net.proxy}"]
    if isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535:
        raise UserError(f"port {port} is not between 1 and 65535")
    for option in mitm_options:
        if "=" not in option or option.startswith("mouchard_"):
            raise UserError(f"--set {option!r}: expected NAME=VALUE of a mitmproxy option (mouchard's own have flags)")
    prof = _profile(profile)
    check_keep_bodies(db, keep_bodies)
    mitmdump_path()
    confdir_path = Path(confdir).expanduser()
    with tempfile.TemporaryDirectory(prefix="mouchard-proxy-") as tmp:
        profile_file = _profile_file(prof, Path(tmp))
        store, crawl_id = _start_run(db, "app", prof, {"app": app, "port": port, "modes": modes,
                                                        "block_quic": block_quic}, net, quic_warnings(modes), command)
        with _failed_unless_run(store, crawl_id):
            args = _mitmdump_args(profile_file, app, db, crawl_id, keep_bodies, net)
            args += _options(confdir=str(confdir_path), flow_detail=flow_detail, listen_port=port,
                             listen_host=listen_host or None, mode=modes, mouchard_block_quic=block_quic)
            for option in mitm_options:
                args += ["--set", option]
            if on_start is not None:
                on_start(crawl_id, str(store.path))
            code, stopped = _run(args, stop)
    row = _end_run(store, crawl_id, code, stopped)
    result = ProxyResult(crawl_id, row["status"], _summary(row), str(store.path), tuple(modes))
    store.close()
    if code not in (0, 130, -signal.SIGINT) and not (stopped and code == -stopped):
        raise RunFailed(f"mitmdump stopped with status {code} (see its messages above)", result)
    return result


def import_capture(capture: str | Path, *, db: str | Path, profile: DeviceProfile | str | Path | None = None,
                   app: str | None = None, keep_bodies: str | Path | None = None, keylog: str | Path | None = None,
                   connections: str | Path | None = None, command: list[str] | None = None) -> ImportResult:
    """Record the flows and leaks of a saved capture into `db`, offline, as one `import` run.

        from addons.api import import_capture
        result = import_capture("pcapdroid.pcapng", db="phone.db", profile="device.yml")
        result.details["capture"]["decrypted"]          # TLS connections decrypted with the embedded keys

    Formats, recognised by their content: .mitm (mitmproxy), .har (a browser's or PCAPdroid's export), pcap or
    pcapng (PCAPdroid's, with its per-app uids; TLS decrypted with tshark from the embedded or `keylog` keys), and,
    destinations per app without payloads: an iOS App Privacy Report (.ndjson; `app` keeps one app's records) or
    PCAPdroid's connections CSV. `connections` (that CSV) names the app of each entry of PCAPdroid's HAR export.
    The capture is replayed through the same addons as `proxy` (nothing is sent anywhere). Raises UserError for a
    missing or unreadable file, a bad profile or a mismatched option, and `RunFailed` if the import did not finish.
    """
    from addons import pcap_connections
    from mouchard.ingest import ios_report

    path = _existing(capture, "capture")
    keylog_path = _existing(keylog, "key log") if keylog else None
    connections_path = _existing(connections, "connections export") if connections else None
    prof = _profile(profile)
    check_keep_bodies(db, keep_bodies)
    # Recognised by their content, and imported directly: destinations per app only, nothing to replay.
    for sniff, run, fmt in ((ios_report.sniff, ios_report.import_report, ios_report.FORMAT),
                            (pcap_connections.sniff, pcap_connections.import_connections, pcap_connections.FORMAT)):
        if sniff(path):
            crawl_id = run(path, db, app=app, config={"profile": _describe(prof)},
                           command=command if command is not None else sys.argv)
            return ImportResult(crawl_id, *_row_of(db, crawl_id), format=fmt)
    digest, kind = _check_capture(path)
    if keylog_path and kind not in ("pcap", "pcapng"):
        raise UserError(f"--keylog decrypts packet captures (pcap, pcapng); {path} is a {kind} file")
    if connections_path and kind != "har":
        raise UserError(f"--connections attributes the entries of PCAPdroid's HAR export; {path} is a {kind} file")
    net = NetworkOptions()
    with tempfile.TemporaryDirectory(prefix="mouchard-import-") as tmp:
        replay, extra, details = _replayable(path, kind, keylog_path, Path(tmp), connections_path)
        profile_file = _profile_file(prof, Path(tmp))
        store, crawl_id = _start_run(db, "import", prof, {"app": app, "file": str(path.resolve()), "format": kind,
                                                           "sha256": digest, **details}, net, (), command)
        with _failed_unless_run(store, crawl_id):
            args = _mitmdump_args(profile_file, app, db, crawl_id, keep_bodies, net) + extra
            args += ["-n", "-r", str(replay)] + _options(flow_detail=0)
            code, stopped = _run(args)
    row = _end_run(store, crawl_id, code, stopped)
    result = ImportResult(crawl_id, row["status"], _summary(row), str(store.path), format=kind, details=details)
    store.close()
    if code != 0 or row["status"] != "finished":
        raise RunFailed(f"import of {path} did not finish (mitmdump status {code}): see its messages above", result)
    return result


def quic_warnings(modes: Sequence[str]) -> list[str]:
    """The run's warning when no mode receives UDP (mitmproxy's own mode parser says): QUIC sent directly by an
    app would bypass the proxy unseen."""
    from mitmproxy.proxy.mode_specs import DnsMode, ProxyMode

    for mode in modes:
        try:
            spec = ProxyMode.parse(mode)
        except ValueError:  # mitmdump refuses it with its own message
            continue
        if spec.transport_protocol in ("udp", "both") and not isinstance(spec, DnsMode):
            return []
    return ["no mode receives UDP (" + ", ".join(modes) + "): QUIC / HTTP/3 an app sends directly bypasses the "
            "proxy unseen; use --mode wireguard or local to block or record it"]


def check_keep_bodies(db: str | Path, keep_bodies: str | Path | None) -> Path | None:
    """The folder raw bodies are kept in, resolved: the database's evidence folder or a folder inside it, because
    evidence paths are stored relative to that folder (merge, audit and Datasette read them there)."""
    if not keep_bodies:
        return None
    from mouchard.storage.store import evidence_dir

    root, keep = evidence_dir(Path(db).resolve()).resolve(), Path(keep_bodies).resolve()
    if keep != root and root not in keep.parents:
        raise UserError(f"--keep-bodies must be the database's evidence folder {root} or a folder inside it")
    return keep



def _existing(path: str | Path, what: str) -> Path:
    """A file the user named, which must exist (the CLI's click.Path(exists=True) says the same first)."""
    file = Path(path)
    if not file.is_file():
        raise UserError(f"{what} {file} does not exist or is not a file")
    return file


def _profile(profile: DeviceProfile | str | Path | None) -> DeviceProfile | None:
    """The one parse of the device profile (a one-line UserError for a bad file); an object is taken as is."""
    if profile is None or isinstance(profile, DeviceProfile):
        return profile
    from mouchard.identify.profile import load_profile

    return load_profile(profile)


def _describe(prof: DeviceProfile | None) -> dict | None:
    return prof.describe() if prof is not None else None


def _profile_file(prof: DeviceProfile | None, folder: Path) -> Path | None:
    """The parsed profile written back for mitmdump (`DeviceProfile.as_data`: it parses to the same values), in our
    private temporary folder: mitmdump gets what was validated here, whatever happens to the user's file since."""
    if prof is None:
        return None
    import yaml

    path = folder / "profile.yml"
    path.write_text(yaml.safe_dump(prof.as_data(), allow_unicode=False, sort_keys=False), encoding="utf-8")
    return path


def _options(**values) -> list[str]:
    """`--set NAME=VALUE` arguments of mitmdump; a list value repeats the option, None or "" leaves it out."""
    args = []
    for name, value in values.items():
        for item in value if isinstance(value, (list, tuple)) else [value]:
            if item is None or item == "":
                continue
            args += ["--set", f"{name}={str(item).lower() if isinstance(item, bool) else item}"]
    return args


def _mitmdump_args(profile_file: Path | None, app: str | None, db: str | Path, crawl_id: int,
                   keep_bodies: str | Path | None, net: NetworkOptions) -> list[str]:
    keep = check_keep_bodies(db, keep_bodies)
    args = [str(mitmdump_path()), "-s", str(addons_script())]
    args += _options(mouchard_profile=str(profile_file) if profile_file else None, mouchard_app=app or "",
                     mouchard_db=str(Path(db).resolve()), mouchard_crawl_id=crawl_id,
                     mouchard_keep_bodies=str(keep) if keep else None)
    return args + _options(**net.mitmproxy_options())


def _start_run(db: str | Path, kind: str, prof: DeviceProfile | None, config: dict, net: NetworkOptions,
               warnings: Sequence[str] = (), command: list[str] | None = None):
    from mouchard.storage.store import Store

    store = Store(db)
    crawl_id = store.start_crawl(kind, config={**config, "profile": _describe(prof)}, network=net.as_record(),
                                 command=command if command is not None else sys.argv, warnings=list(warnings))
    return store, crawl_id


@contextmanager
def _failed_unless_run(store, crawl_id: int) -> Iterator[None]:
    """A run recorded but whose mitmdump never ran to its end (an error, or a stop before it started) is not left
    `running`: it is finished `failed` (or `interrupted` for a stop) and the error goes on."""
    try:
        yield
    except BaseException as exc:
        stopped = getattr(exc, "signum", signal.SIGINT) if isinstance(exc, KeyboardInterrupt) else None
        _end_run(store, crawl_id, 1, stopped)
        store.close()
        raise


def _run(args: list[str], stop: threading.Event | None = None) -> tuple[int, int | None]:
    """Run mitmdump to its end: (its exit status, the stop signal we received, if any).

    mitmdump runs in its own process group with a parent-death signal (mouchard.lifecycle): a stop signal
    reaching us (SIGINT, SIGTERM or SIGHUP, even inherited ignored) is passed on to it and we wait for its clean
    exit, which finishes the run; if we are killed outright, the kernel sends it SIGTERM and it still does.
    `stop` set (from another thread) is a SIGINT: outside the main thread Python cannot handle signals.
    """
    from mouchard.lifecycle import StopSignals

    with StopSignals() as signals:
        process = signals.start(args)
        stopped_by_event = threading.Event()
        if stop is not None:
            def watch() -> None:
                while process.poll() is None:
                    if stop.wait(STOP_POLL):
                        stopped_by_event.set()
                        process.send_signal(signal.SIGINT)
                        return

            threading.Thread(target=watch, name="mouchard-proxy-stop", daemon=True).start()
        code = signals.wait([process])[0]
    return code, signals.received or (signal.SIGINT if stopped_by_event.is_set() else None)


def _end_run(store, crawl_id: int, code: int, stopped: int | None = None) -> dict:
    """Mark a run mitmdump could not finish (stopped before its recorder started, or failed), and return its
    crawls row."""
    row = store.rows("SELECT * FROM crawls WHERE id = ?", [crawl_id])[0]
    if row["status"] == "running":
        ok = code in (0, -signal.SIGINT, 130) or stopped is not None
        store.finish_crawl(crawl_id, "interrupted" if ok else "failed", _summary(row))
        row = store.rows("SELECT * FROM crawls WHERE id = ?", [crawl_id])[0]
    return row


def _summary(row: dict) -> dict:
    return json.loads(row["summary"]) if row["summary"] else {}


def _row_of(db: str | Path, crawl_id: int) -> tuple[str, dict, str]:
    """(status, summary, database path) of a finished run."""
    from mouchard.storage.store import Store

    with Store(db) as store:
        row = store.rows("SELECT status, summary FROM crawls WHERE id = ?", [crawl_id])[0]
        return row["status"], _summary(row), str(store.path)


def _check_capture(path: Path) -> tuple[str, str]:
    """(sha256, 'har', 'mitm', 'pcap' or 'pcapng') of a capture file, every flow (or packet block) of which can be
    read; else a one-line error."""
    from addons.capture import check_capture

    capture = check_capture(path)
    return capture.sha256, capture.kind


def _replayable(path: Path, kind: str, keylog: Path | None, tmp: Path,
                connections: Path | None = None) -> tuple[Path, list[str], dict]:
    """(file mitmdump replays, extra mitmdump arguments, what crawls.config records about the conversion).

    A packet capture is converted to flows first (addons/pcap_import.py, with tshark); a HAR is converted so
    that what mitmproxy's HAR reader drops (WebSocket messages, the browser or app, a missing response) is kept
    (addons/har_import.py); a .mitm is replayed as it is."""
    if kind in ("pcap", "pcapng"):
        from addons.pcap_import import convert

        out = tmp / "capture.mitm"
        summary = convert(path, out, keylog)
        return out, ["-s", str(Path(__file__).resolve().parent / "pcap_replay.py")], {"capture": summary.as_config()}
    if kind == "har":
        from addons.har_import import convert_har
        from addons.pcap_connections import apps_by_destination, read

        out = tmp / "capture.mitm"
        by_destination = apps_by_destination(read(connections)) if connections else None
        return out, [], {"har": convert_har(path, out, by_destination)}
    return path.resolve(), [], {}

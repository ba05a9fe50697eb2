"""A synchronous wrapper around `Datasette.client` for tests: one event loop per client, reused for every call."""

from __future__ import annotations

import asyncio

import httpx


class SyncClient:
    """`get(path)` on an in-process Datasette, without a server."""

    def __init__(self, datasette):
        self.datasette = datasette
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(datasette.invoke_startup())

    def get(self, path: str, **kwargs) -> httpx.Response:
        return self.loop.run_until_complete(self.datasette.client.get(path, **kwargs))

    def json(self, path: str, **params) -> list[dict]:
        """Rows of a table or query as a list of objects (`_shape=array`), asserting a 200."""
        if not path.endswith(".json"):
            path += ".json"
        response = self.get(path, params={"_shape": "array", **params})
        assert response.status_code == 200, (path, response.status_code, response.text[:500])
        return response.json()

    def close(self) -> None:
        for database in self.datasette.databases.values():
            database.close()
        self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        self.loop.close()

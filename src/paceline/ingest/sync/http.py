"""The HTTP side of a live sync: one client with the retries every CRM API needs.

- **Rate limits.** A 429 answer is waited out: `Retry-After` seconds (or its HTTP date),
  else an exponential back-off, capped at `max_wait`, and the request is sent again.
- **Transient failures.** A 5xx answer or a connection that fails is tried again after a
  back-off (1 s, 2 s, 4 s ...), at most `retries` times; then the sync fails, saying which
  request failed how, and nothing of what it fetched is written.
- **Other refusals** (401 a wrong token, 403 missing scopes, 404) fail at once: retrying
  would not help.
- **The token is never shown**: it travels in a header, never in the URL, and every error
  text has it replaced by `***`.

Waiting goes through `sleep`, so tests replay a rate limit without waiting for it.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from paceline import clock

if TYPE_CHECKING:
    import httpx

Sleep = Callable[[float], None]
DEFAULT_RETRIES = 5
DEFAULT_MAX_WAIT = 60.0  # seconds: the longest a Retry-After is honoured for one wait
TIMEOUT = 30.0


class SyncHttpError(Exception):
    """A request failed for good: the message names it and why, never the token."""


class Client:
    """GET/POST JSON against one API with retries; counts the requests it sent."""

    def __init__(
        self,
        base_url: str,
        headers: Mapping[str, str],
        secrets: tuple[str, ...] = (),
        retries: int = DEFAULT_RETRIES,
        max_wait: float = DEFAULT_MAX_WAIT,
        sleep: Sleep = time.sleep,
        auth: tuple[str, str] | None = None,
    ) -> None:
        import httpx  # loaded by a sync only, not by every command that lists the sources

        self._transport_error = httpx.TransportError
        self.http = httpx.Client(
            base_url=base_url, headers=dict(headers), timeout=TIMEOUT, auth=auth
        )
        self.secrets = tuple(s for s in secrets if s)
        self.retries = retries
        self.max_wait = max_wait
        self.sleep = sleep
        self.requests = 0
        self.waited = 0.0  # seconds spent waiting out rate limits and failures

    def close(self) -> None:
        self.http.close()

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> Any:
        return self._send("GET", path, params=params)

    def post(self, path: str, body: Any) -> Any:
        return self._send("POST", path, json=body)

    def _send(self, method: str, path: str, **kwargs: Any) -> Any:
        attempt = 0
        while True:
            attempt += 1
            self.requests += 1
            try:
                response = self.http.request(method, path, **kwargs)
            except self._transport_error as exc:
                if attempt > self.retries:
                    raise self._error(f"{method} {path}: {type(exc).__name__}: {exc}") from None
                self._wait(_backoff(attempt))
                continue
            status = response.status_code
            if status == 429 or status >= 500:
                if attempt > self.retries:
                    raise self._error(
                        f"{method} {path}: HTTP {status} {_reason(response)} "
                        f"(after {attempt} attempts)"
                    )
                wait = _retry_after(response) if status == 429 else None
                self._wait(wait if wait is not None else _backoff(attempt))
                continue
            if status >= 400:
                hint = {401: ": the API refused the token", 403: ": the token lacks a scope"}
                raise self._error(
                    f"{method} {path}: HTTP {status} {_reason(response)}{hint.get(status, '')}"
                )
            try:
                return response.json()
            except ValueError:
                raise self._error(f"{method} {path}: the answer is not JSON") from None

    def _wait(self, seconds: float) -> None:
        seconds = min(max(seconds, 0.0), self.max_wait)
        self.waited += seconds
        self.sleep(seconds)

    def _error(self, text: str) -> SyncHttpError:
        for secret in sorted(self.secrets, key=len, reverse=True):
            text = text.replace(secret, "***")
        return SyncHttpError(text)


def _backoff(attempt: int) -> float:
    return float(2 ** (attempt - 1))


def _reason(response: httpx.Response) -> str:
    """A short why from the answer: its `message` (HubSpot, Close) or `error` (Pipedrive)."""
    try:
        body = response.json()
    except ValueError:
        return response.reason_phrase
    if isinstance(body, dict):
        for key in ("message", "error", "error_info"):
            if isinstance(body.get(key), str):
                return f"{response.reason_phrase}: {body[key][:200]}"
    return response.reason_phrase


def _retry_after(response: httpx.Response) -> float | None:
    """Retry-After as seconds: a number, or an HTTP date measured from Paceline's clock."""
    raw = response.headers.get("retry-after", "").strip()
    if not raw:
        return None
    try:
        return float(raw)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(raw)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is not None:
        when = when.astimezone(dt.UTC).replace(tzinfo=None)
    return (when - clock.utcnow()).total_seconds()

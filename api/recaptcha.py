"""reCAPTCHA on the join form, judged as MeshDB judges it (`meshapi/validation.py`).

Optional: with neither `MESHKEEPER_RECAPTCHA_V2_SECRET` nor `_V3_SECRET` set there is no
check. Otherwise a checkbox (v2) token, when sent, decides alone: it passes when the verify
service says it succeeded. Without one, the invisible (v3) token must succeed with a score of
at least `MESHKEEPER_RECAPTCHA_V3_THRESHOLD` (a v2-style answer without a score counts as
1.0). Every failure, the verify service's included, is MeshDB's 401 "Captcha verification
failed", which tells meshforms to show the checkbox.
"""

from __future__ import annotations

import ipaddress
import logging

import httpx
from fastapi import HTTPException, Request

from ipam.settings import Settings

log = logging.getLogger(__name__)

CHECKBOX_HEADER = "X-Recaptcha-V2-Token"
INVISIBLE_HEADER = "X-Recaptcha-V3-Token"
FAILED = "Captcha verification failed"
TIMEOUT_S = 5.0


class CaptchaFailed(Exception):
    """The token was missing, refused, scored too low, or could not be checked."""


def _routable(request: Request) -> str | None:
    """The client address when it is a public one (MeshDB sends only routable addresses)."""
    host = request.client.host if request.client else None
    try:
        return host if host and ipaddress.ip_address(host).is_global else None
    except ValueError:
        return None


def score(
    settings: Settings, token: str | None, secret: str | None, remote_ip: str | None
) -> float:
    """Ask the verify service about one token: its score (1.0 for a checkbox), or raise."""
    if not token or not secret:
        raise CaptchaFailed("no token, or no secret to check it with")
    form = {"secret": secret, "response": token}
    if remote_ip:
        form["remoteip"] = remote_ip
    try:
        answer = httpx.post(settings.recaptcha_verify_url, data=form, timeout=TIMEOUT_S)
        answer.raise_for_status()
        verdict = answer.json()
    except (httpx.HTTPError, ValueError) as exc:
        raise CaptchaFailed(f"verify service: {exc}") from exc
    if not isinstance(verdict, dict) or not verdict.get("success"):
        raise CaptchaFailed("token refused")
    return float(verdict.get("score", 1.0))


def judge(
    settings: Settings, checkbox: str | None, invisible: str | None, remote_ip: str | None
) -> None:
    """Pass, or raise CaptchaFailed, for the two tokens of one request."""
    if checkbox:
        score(settings, checkbox, settings.recaptcha_v2_secret, remote_ip)
        return
    got = score(settings, invisible, settings.recaptcha_v3_secret, remote_ip)
    if got < settings.recaptcha_v3_threshold:
        raise CaptchaFailed(f"score {got} below {settings.recaptcha_v3_threshold}")


def check(request: Request) -> None:
    """401 unless the request's reCAPTCHA tokens pass (no check when no secret is set)."""
    settings: Settings = request.app.state.settings
    if not (settings.recaptcha_v2_secret or settings.recaptcha_v3_secret):
        return
    # An empty header is no token (MeshDB treats "" as absent).
    checkbox = request.headers.get(CHECKBOX_HEADER) or None
    invisible = request.headers.get(INVISIBLE_HEADER) or None
    try:
        judge(settings, checkbox, invisible, _routable(request))
    except CaptchaFailed as exc:
        log.info("join form captcha failed: %s", exc)
        raise HTTPException(401, FAILED) from exc

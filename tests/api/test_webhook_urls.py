"""Webhook URLs: denied networks refused with a 422, credentials never shown (issue 11, 10).

Names resolve through /etc/hosts only (localhost): no test sends a DNS query off the machine.
"""

from __future__ import annotations

import ipaddress
import logging

import httpx
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from daemon import webhooks as wh
from ipam.db import transaction
from ipam.enums import TokenRole
from ipam.records import tokens
from ipam.records.webhook_urls import denied, masked_url, networks, resolve
from ipam.settings import Settings
from tests.daemon.receiver import Receiver
from tests.daemon.test_webhooks import emit, log_rows, subscribe

BASE = "/api/v1/webhooks/"
SECRET = "webhook-secret-1"
DEFAULT_DENY = Settings.model_fields["webhook_deny_networks"].default


@pytest.fixture()
def admin(db, sessions, tmp_path):
    """The API with the default denied networks, and an admin token on every request."""
    settings = Settings(data_dir=tmp_path, webhook_deny_networks=DEFAULT_DENY)
    with transaction(sessions) as session:
        secret = tokens.create_token(session, "admin", TokenRole.ADMIN)
    with TestClient(create_app(settings, db)) as client:
        client.headers["Authorization"] = f"Bearer {secret}"
        yield client


@pytest.mark.parametrize(
    "url",
    [
        "http://169.254.169.254/latest/meta-data/",  # the clouds' instance metadata service
        "http://169.254.1.1:8080/hook",
        "http://[fe80::1]/hook",
        "http://[fe80::1%25eth0]/hook",
        "http://[::ffff:169.254.169.254]/hook",  # the same address, IPv4-mapped
        "http://user:pw@169.254.169.254/",
    ],
)
def test_link_local_urls_are_refused(admin, url):
    response = admin.post(BASE, json={"url": url, "secret": SECRET})
    assert response.status_code == 422, response.text
    assert "MESHKEEPER_WEBHOOK_DENY_NETWORKS" in response.json()["detail"]
    assert admin.get(BASE).json()["count"] == 0


@pytest.mark.parametrize(
    "url", ["http://10.70.0.5/hook", "http://127.0.0.1:9/hook", "http://localhost:9/hook"]
)
def test_the_mesh_and_local_receivers_stay_allowed(admin, url):
    assert admin.post(BASE, json={"url": url, "secret": SECRET}).status_code == 201


def test_a_host_name_is_resolved_before_it_is_judged(db, sessions, tmp_path):
    settings = Settings(data_dir=tmp_path, webhook_deny_networks=["127.0.0.0/8"])
    with transaction(sessions) as session:
        secret = tokens.create_token(session, "admin", TokenRole.ADMIN)
    with TestClient(create_app(settings, db)) as client:
        client.headers["Authorization"] = f"Bearer {secret}"
        response = client.post(BASE, json={"url": "http://localhost:9/hook", "secret": SECRET})
    assert response.status_code == 422
    assert "localhost (127.0.0.1) is in 127.0.0.0/8" in response.json()["detail"]


def test_credentials_are_masked_in_answers(admin):
    url = "https://alerts:hunter2-pass@127.0.0.1:9/hook?x=1"
    created = admin.post(BASE, json={"url": url, "secret": SECRET})
    assert created.status_code == 201
    shown = [created.json(), admin.get(f"{BASE}{created.json()['id']}/").json()]
    shown += admin.get(BASE).json()["results"]
    for body in shown:
        assert body["url"] == "https://***@127.0.0.1:9/hook?x=1"
        assert "hunter2" not in str(body)


async def test_credentials_are_masked_in_logs_and_the_delivery_log(sessions, caplog):
    with Receiver() as receiver:
        port = receiver.url.split(":")[2].split("/")[0]
    # The receiver is gone: the delivery fails and its error names the URL.
    hook_id = subscribe(sessions, f"http://alerts:hunter2-pass@127.0.0.1:{port}/hook")
    emit(sessions, "node.created")
    caplog.set_level(logging.INFO, logger="daemon.webhooks")
    async with httpx.AsyncClient(trust_env=False) as client:
        assert await wh.deliver_once(sessions, client) == 0
    (row,) = log_rows(sessions, hook_id)
    assert row.error and "hunter2" not in row.error
    assert caplog.records and "hunter2" not in caplog.text


async def test_delivery_refuses_a_denied_address_too(sessions):
    # A URL saved before the networks were set (or a name that now resolves elsewhere).
    hook_id = subscribe(sessions, "http://localhost:9/hook")
    emit(sessions, "node.created")
    async with httpx.AsyncClient(trust_env=False) as client:
        assert await wh.deliver_once(sessions, client, deny=networks(["127.0.0.0/8"])) == 0
    (row,) = log_rows(sessions, hook_id)
    assert row.error.startswith("refused: localhost (127.0.0.1) is in 127.0.0.0/8")


@pytest.mark.parametrize(
    "url, shown",
    [
        ("https://a.example/x", "https://a.example/x"),
        ("https://u:p@a.example:8443/x?q=1#f", "https://***@a.example:8443/x?q=1#f"),
        ("http://token@[::1]/", "http://***@[::1]/"),
        ("http://u:p:q@@h/", "http://***@h/"),
    ],
)
def test_masked_url(url, shown):
    assert masked_url(url) == shown


def test_denied_judges_mapped_addresses_by_their_ipv4():
    deny = networks(DEFAULT_DENY)
    mapped = ipaddress.ip_address("::ffff:169.254.169.254")
    assert denied([mapped], deny) == (mapped, ipaddress.ip_network("169.254.0.0/16"))
    assert denied([ipaddress.ip_address("10.70.0.1"), ipaddress.ip_address("::1")], deny) is None
    assert resolve("127.0.0.1") == [ipaddress.ip_address("127.0.0.1")]

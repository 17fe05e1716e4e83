"""The console in a real browser: Debian's Chromium driven by Playwright, through the journeys
volunteers make, with screenshots of every page at desktop and phone width and axe's checks.

The status page journey pings a device whose address lives in a network namespace this test
creates (198.18.0.0/15, never a range of the machine's own), takes the address away, and waits
for the page to show the device down without a reload.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from api.app import create_app
from tests.api.builders import building, device, install, member, node, ref
from tests.api.console_helpers import PASSWORD, make_person
from tests.live import served

pytestmark = pytest.mark.peer  # Chromium (and root for the namespace); skips without them

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SHOTS = Path(
    os.environ.get(
        "MESHKEEPER_SCREENSHOT_DIR", Path(__file__).resolve().parents[2] / "build" / "screenshots"
    )
)
SIZES = {"desktop": {"width": 1280, "height": 800}, "phone": {"width": 390, "height": 844}}
# Chromium as the probe of this machine runs it: no first-run, no background traffic, no sandbox
# as root (the machine has no network beyond loopback and the namespaces tests make).
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
NS_HOST, NS_DEVICE = "198.18.200.1", "198.18.200.2"


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Debian's Chromium through Playwright (no browser download)."""
    if CHROMIUM is None:
        pytest.skip("needs Chromium (apt-get install chromium)")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as driver:
        chromium = driver.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture()
def site(api, db, sessions, settings):
    """The app (no map tiles: this machine reaches no tile server) on a loopback uvicorn."""
    make_person(sessions, "alice", "admin")
    app = create_app(settings.model_copy(update={"map_tile_url": ""}), db)
    with served(app) as url:
        yield url


def _signed_in(browser: object, url: str, size: str = "desktop") -> object:
    page = browser.new_page(viewport=SIZES[size])  # type: ignore[attr-defined]
    page.goto(f"{url}/ui/")
    assert "/ui/login" in page.url
    page.get_by_label("Username").fill("alice")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{url}/ui/")
    return page


def _serious(page: object) -> list[str]:
    """axe-core's serious and critical violations on the page, as readable lines."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [
        f"{v['id']} ({v['impact']}): {v['help']} at {[n['target'] for n in v['nodes']][:3]}"
        for v in results.response["violations"]
        if v["impact"] in ("serious", "critical")
    ]


def _history(sessions: object, device_id: str, hours: int = 24) -> None:
    """A day of polls of one device through the daemon's own writers: ping every 10 minutes
    (with an outage of an hour, a gap in the graphs) and a radio's SNMP figures beside them."""
    import math
    import uuid
    from datetime import UTC, datetime, timedelta

    from daemon.observe import DeviceResult, apply_ping_results
    from ipam import models as m
    from ipam.db import transaction
    from ipam.enums import ObservedStatus as S
    from ipam.observed.history import record_snmp

    now, key = datetime.now(UTC), uuid.UUID(device_id)
    with transaction(sessions) as session:  # type: ignore[arg-type]
        for i in range(hours * 6, 0, -1):
            at = now - timedelta(minutes=10 * i)
            if 30 <= i < 36:
                continue  # an hour with no answer
            wave = math.sin(i / 9)
            rtt = 4 + 3 * wave
            loss = 0.0 if i % 17 else 0.2
            result = DeviceResult(key, S.UP, "127.0.0.3", rtt - 1, rtt, rtt + 2 + wave, loss)
            apply_ping_results(session, [result], at)
            row = session.get(m.DeviceObservation, key)
            radio = {"signal_dbm": -61 + 3 * wave, "noise_floor_dbm": -96, "ccq_pct": 90 + 5 * wave}
            row.radio, row.snmp_at = {"radios": [radio]}, at
            record_snmp(session, [row], at)


def test_every_page_at_desktop_and_phone_width_is_accessible(browser, site, api, sessions):
    hub = node(api, 227, name="Hub", type="Hub", latitude=40.70, longitude=-73.95)
    leaf = node(api, 1934, name="Leaf", latitude=40.71, longitude=-73.96)
    a, b = device(api, hub, "nycmesh-227-a"), device(api, leaf, "nycmesh-1934-b")
    _history(sessions, a["id"])
    link = api.create("links", {"from_device": ref(a), "to_device": ref(b), "status": "Active"})
    owner = member(api, "Ada Lovelace", phone_number="+17185550142")
    install(api, owner, building(api, "1 Roof Road"), hub)
    pages = {
        "status": "/ui/",
        "search": "/ui/search?q=718-555-0142",
        "node": "/ui/nodes/227/",
        "node-no-history": "/ui/nodes/1934/",
        "device": f"/ui/devices/{a['id']}/",
        "device-no-history": f"/ui/devices/{b['id']}/",
        "link": f"/ui/links/{link['id']}/",
        "map": "/ui/map",
        "records": "/ui/records/installs/",
        "member-form": f"/ui/records/members/{owner['id']}/",
        "new-node": "/ui/records/nodes/new",
        "nn-form": "/ui/nn-assign",
        "join-form": "/ui/join",
    }
    SHOTS.mkdir(parents=True, exist_ok=True)
    problems = {}

    def check(page: object, name: str, size: str) -> None:
        assert page.locator("h1").count() == 1, name  # type: ignore[attr-defined]
        page.screenshot(path=str(SHOTS / f"{name}-{size}.png"), full_page=True)  # type: ignore[attr-defined]
        if size == "desktop":
            problems[name] = _serious(page)
        # Nothing wider than a phone: no sideways scrolling of the whole page.
        width = page.evaluate("document.documentElement.scrollWidth")  # type: ignore[attr-defined]
        assert width <= SIZES[size]["width"] + 1, (name, size, width)

    for size in SIZES:
        page = _signed_in(browser, site, size)
        # The graphs are drawn: the figures in words, and a line with the outage's gap in it.
        page.goto(f"{site}/ui/devices/{a['id']}/")
        captions = [c.split(",")[0] for c in page.locator("figcaption").all_text_contents()]
        assert captions == ["RTT", "Packet loss", "Signal", "Noise floor", "CCQ"]
        assert page.locator("svg path.line").first.get_attribute("d").count("M") == 2
        for name, path in pages.items():
            page.goto(site + path)
            page.wait_for_load_state("networkidle")
            check(page, name, size)
        # The map with its list open, and the join form answering with its messages.
        page.goto(f"{site}/ui/map")
        page.wait_for_function("document.getElementById('map-nodes').children.length === 2")
        page.get_by_text("The nodes as a list").click()
        check(page, "map-list", size)
        page.goto(f"{site}/ui/join")
        for label, value in (
            ("First Name", "Grace"),
            ("Email", "grace-at-example"),
            ("Street Address", "151 West 4th Street"),
            ("City", "New York"),
            ("ZIP code", "10012"),
        ):
            page.get_by_label(label, exact=False).first.fill(value)
        page.get_by_role("button", name="File the request").click()
        page.locator(".field-error").first.wait_for()
        check(page, "join-errors", size)
        page.close()
    assert all(not found for found in problems.values()), problems
    assert (SHOTS / "map-phone.png").stat().st_size > 0


def test_map_draws_the_mesh_without_tiles(browser, site, api):
    node(api, 227, name="Hub", type="Hub", latitude=40.70, longitude=-73.95)
    page = _signed_in(browser, site)
    page.goto(f"{site}/ui/map")
    summary = page.locator("#map-summary")
    summary.wait_for()
    page.wait_for_function("document.getElementById('map-summary').textContent.length > 0")
    assert summary.text_content().startswith("1 nodes")
    assert page.locator("#map path.leaflet-interactive, #map canvas").count() >= 1


def test_find_a_member_by_an_additional_members_phone_and_assign_an_nn(browser, site, api):
    owner = member(api, "Owner Person")
    partner = member(api, "Partner Person", phone_number="+12125550199")
    inst = install(
        api,
        owner,
        building(api, "9 Search Street"),
        status="Pending",
        additional_members=[ref(partner)],
    )
    page = _signed_in(browser, site, "phone")
    box = page.get_by_label("Search the mesh")
    box.fill("(212) 555-0199")
    box.press("Enter")
    page.wait_for_url("**/ui/search?q=*")
    assert page.get_by_role("link", name="Partner Person").is_visible()
    page.get_by_role("link", name=f"#{inst['install_number']}").click()
    page.wait_for_url(f"**/ui/records/installs/{inst['install_number']}/")
    page.goto(f"{site}/ui/nn-assign")
    page.get_by_label("Install number").fill(str(inst["install_number"]))
    page.get_by_role("button", name="Assign").click()
    nn = api.get(f"/api/v1/installs/{inst['install_number']}/").json()["node"]["network_number"]
    assert page.get_by_role(
        "heading", name=f"Install #{inst['install_number']}: NN {nn}"
    ).is_visible()


def test_an_admin_edits_then_reverts_a_record(browser, site, api):
    ada = member(api, "Ada Lovelace")
    page = _signed_in(browser, site)
    page.goto(f"{site}/ui/records/members/{ada['id']}/")
    page.get_by_label("Name").fill("Ada Byron")
    page.get_by_role("button", name="Save").click()
    page.wait_for_url("**?saved=1")
    assert api.get(f"/api/v1/members/{ada['id']}/").json()["name"] == "Ada Byron"
    page.get_by_role("button", name="Revert to the version").first.click()
    page.wait_for_url("**?saved=1")
    assert api.get(f"/api/v1/members/{ada['id']}/").json()["name"] == "Ada Lovelace"
    assert page.get_by_label("Name").input_value() == "Ada Lovelace"
    history = api.get(f"/api/v1/members/{ada['id']}/history/").json()
    assert [h["actor"] for h in history][-2:] == ["alice", "alice"]


@contextlib.contextmanager
def _namespace_host() -> Iterator[str]:
    """A network namespace answering ping at NS_DEVICE over a veth; yields its name."""
    if os.geteuid() != 0 or shutil.which("ip") is None:
        pytest.skip("needs root and iproute2 for a network namespace")
    name, host_if = f"mkui{os.getpid()}", f"mkui{os.getpid()}h"
    run = lambda *argv: subprocess.run(argv, check=True, capture_output=True)  # noqa: E731
    run("ip", "netns", "add", name)
    try:
        run("ip", "link", "add", host_if, "type", "veth", "peer", "name", "eth0", "netns", name)
        run("ip", "addr", "add", f"{NS_HOST}/30", "dev", host_if)
        run("ip", "link", "set", host_if, "up")
        run("ip", "netns", "exec", name, "ip", "addr", "add", f"{NS_DEVICE}/30", "dev", "eth0")
        run("ip", "netns", "exec", name, "ip", "link", "set", "eth0", "up")
        run("ip", "netns", "exec", name, "ip", "link", "set", "lo", "up")
        yield name
    finally:
        subprocess.run(["ip", "netns", "del", name], capture_output=True)


def test_status_page_shows_a_device_going_down_without_a_reload(
    browser, site, api, sessions, settings
):
    from daemon.polling import poll_icmp

    polling = settings.model_copy(
        update={
            "probe_networks": ["198.18.200.0/30"],
            "icmp_count": 1,
            "icmp_timeout_s": 0.3,
            "down_after": 1,
        }
    )
    with _namespace_host() as name:
        hub = node(api, 227, name="Hub", type="Hub")
        roof = device(api, hub, "nycmesh-227-roof", management_address=NS_DEVICE)
        stop = threading.Event()

        def poll_until_stopped() -> None:
            while not stop.is_set():
                asyncio.run(poll_icmp(sessions, polling))
                stop.wait(0.3)

        poller = threading.Thread(target=poll_until_stopped, daemon=True)
        poller.start()
        try:
            page = _signed_in(browser, site)
            page.wait_for_function(
                "document.getElementById('live-state').textContent.startsWith('Live')"
            )
            panels = page.locator("#status-panels")
            assert "nycmesh-227-roof" not in panels.text_content()
            subprocess.run(
                [
                    "ip",
                    "netns",
                    "exec",
                    name,
                    "ip",
                    "addr",
                    "del",
                    f"{NS_DEVICE}/30",
                    "dev",
                    "eth0",
                ],
                check=True,
            )
            # No reload: the event stream tells the page, which fetches its panels again.
            panels.get_by_role("link", name="nycmesh-227-roof").wait_for(timeout=20_000)
            assert (
                api.get(f"/api/v1/devices/{roof['id']}/health/").json()["observed_status"] == "down"
            )
            page.screenshot(path=str(SHOTS / "status-device-down-desktop.png"), full_page=True)
        finally:
            # Stop polling before the namespace goes, or the probes would take the default route.
            stop.set()
            poller.join(timeout=10)


def _focused(page: object) -> str:
    """What has the keyboard's focus: a link's or button's text, a box's label, or its id."""
    return page.evaluate(  # type: ignore[attr-defined]
        """() => {
          const e = document.activeElement;
          const label = e.labels && e.labels.length ? e.labels[0].textContent : null;
          return (label || e.getAttribute("aria-label") || e.textContent || e.id).trim();
        }"""
    )


def _outline(page: object) -> tuple[str, float]:
    """The focused element's outline (style, width in px): what makes focus visible."""
    style, width = page.evaluate(  # type: ignore[attr-defined]
        """() => { const s = getComputedStyle(document.activeElement);
                   return [s.outlineStyle, parseFloat(s.outlineWidth)]; }"""
    )
    return style, width


def _tab_to(page: object, name: str, limit: int = 60) -> None:
    """Press Tab until `name` has the focus (fails after `limit` presses); each stop must show
    where the focus is."""
    for _ in range(limit):
        page.keyboard.press("Tab")  # type: ignore[attr-defined]
        here = _focused(page)
        assert _outline(page)[0] != "none", f"no visible focus on {here[:60]!r}"
        if here == name:
            return
    raise AssertionError(f"{name!r} never got the focus with Tab")


def test_the_console_with_the_keyboard_alone(browser, site, api):
    node(api, 227, name="Hub", type="Hub", latitude=40.70, longitude=-73.95)
    node(api, 1934, name="Leaf", latitude=40.71, longitude=-73.96)
    member(api, "Ada Lovelace")
    page = browser.new_page(viewport=SIZES["desktop"])  # type: ignore[attr-defined]
    keys = page.keyboard
    # Sign in: the username box has the focus when the page opens.
    page.goto(f"{site}/ui/")
    assert _focused(page) == "Username"
    keys.type("alice")
    keys.press("Tab")
    keys.type(PASSWORD)
    keys.press("Enter")
    page.wait_for_url(f"{site}/ui/")
    # The first Tab reaches the skip link, shown on screen while it has the focus.
    keys.press("Tab")
    assert _focused(page) == "Skip to content"
    box = page.locator("a.skip").bounding_box()
    assert box is not None and box["x"] >= 0 and box["y"] >= 0
    assert _outline(page)[0] != "none" and _outline(page)[1] >= 2
    keys.press("Enter")
    assert page.evaluate("document.activeElement.id") == "main"
    # From the top again: the navigation, then the search box, in reading order.
    page.goto(f"{site}/ui/")
    order = []
    for _ in range(10):
        keys.press("Tab")
        order.append(_focused(page))
        assert _outline(page)[0] != "none", order[-1]  # every stop shows where it is
    assert order == [
        "Skip to content",
        "meshkeeper",
        "Status",
        "Map",
        "Records",
        "NN form",
        "Join form",
        "Search the mesh",
        "Search",
        "Sign out",
    ]
    # Enter in the search box searches.
    page.goto(f"{site}/ui/")
    _tab_to(page, "Search the mesh")
    keys.type("Lovelace")
    keys.press("Enter")
    page.wait_for_url("**/ui/search?q=Lovelace")
    assert page.get_by_role("link", name="Ada Lovelace").is_visible()
    # A record form filled in and sent with the keyboard alone.
    page.goto(f"{site}/ui/records/members/")
    _tab_to(page, "New member")
    keys.press("Enter")
    page.wait_for_url("**/ui/records/members/new")
    _tab_to(page, "Name *")
    keys.type("Grace Hopper")
    _tab_to(page, "Phone Number")
    keys.type("+12125550199")
    _tab_to(page, "Create")
    keys.press("Enter")
    page.wait_for_url("**/ui/records/members/*/")
    found = api.get("/api/v1/members/lookup/?name=Grace").json()["results"]
    assert [(m["name"], m["phone_number"]) for m in found] == [("Grace Hopper", "+12125550199")]
    # The map from the navigation, and its list of nodes without a mouse.
    page.goto(f"{site}/ui/")
    _tab_to(page, "Map")
    keys.press("Enter")
    page.wait_for_url(f"{site}/ui/map")
    page.wait_for_function("document.getElementById('map-nodes').children.length === 2")
    _tab_to(page, "The nodes as a list")
    keys.press("Enter")  # opens the list
    assert page.locator("#map-list").evaluate("d => d.open")
    keys.press("Tab")
    assert _focused(page) == "Find a node (NN, name or state)"
    keys.type("1934")
    assert page.locator("#map-count").text_content() == "1 of 2 nodes listed."
    keys.press("Tab")
    assert _focused(page).startswith("NN 1934: Leaf")
    keys.press("Enter")
    page.wait_for_url(f"{site}/ui/nodes/1934/")
    page.close()

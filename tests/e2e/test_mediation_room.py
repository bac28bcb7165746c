"""The session room in real browsers: the mediator and both parties on phones, each in their own browser context,
talking through the live server's Socket.IO endpoint (websocket; long-polling for the one whose websockets are blocked).
Chromium gets fake camera and microphone devices, so the WebRTC call really connects."""
from __future__ import annotations

import contextlib

import pytest

from tests.cases.test_funnel_journeys import mediator_of
from tests.e2e.conftest import CHROMIUM, CHROMIUM_ARGS, DEMO_PASSWORD, PHONE, BrowserProblems
from tests.mediation.test_invitations import case_with_both_parties

# What the page sees when a proxy refuses the websocket upgrade: the handshake fails, "error" then "close" (1006).
BLOCKED_WEBSOCKET = """
window.WebSocket = function BlockedWebSocket(url) {
  const ws = {url: url, readyState: 0, binaryType: 'blob', send() {}, close() {}};
  setTimeout(() => {
    ws.readyState = 3;
    if (ws.onerror) { ws.onerror(new Event('error')); }
    if (ws.onclose) { ws.onclose({code: 1006, reason: '', wasClean: false}); }
  }, 30);
  return ws;
};
"""
MEDIA_ARGS = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]


@pytest.fixture(scope="module")
def media_browser(playwright_driver):
    """Chromium with a fake camera and microphone that never asks for permission."""
    chromium = playwright_driver.chromium.launch(executable_path=CHROMIUM, headless=True,
                                                 args=CHROMIUM_ARGS + MEDIA_ARGS)
    try:
        yield chromium
    finally:
        chromium.close()


@pytest.fixture()
def room_case(app, demo, make_web):
    case_id, *_ = case_with_both_parties(app, make_web)
    return case_id, mediator_of(app, case_id)


class Person:
    """One user on their own phone: a browser context, a page, the websocket frames it received, its problems."""

    def __init__(self, browser, base_url, username, block_websocket=False):
        self.context = browser.new_context(base_url=base_url, permissions=["camera", "microphone"], **PHONE)
        self.context.set_default_timeout(15_000)
        self.page = self.context.new_page()
        self.frames: list[str] = []
        self.problems = BrowserProblems()
        self.page.on("console", self.problems.on_console)
        self.page.on("pageerror", lambda exc: self.problems.page_errors.append(str(exc)))
        self.page.on("websocket", lambda ws: ws.on("framereceived", lambda payload: self.frames.append(str(payload))))
        self.polled: list[str] = []
        self.page.on("response", self._on_response)
        if block_websocket:  # a network that lets plain HTTP through but no websocket can be opened
            self.context.add_init_script(BLOCKED_WEBSOCKET)
        self.login(username)

    def _on_response(self, response):
        if "/socket.io/" in response.url and "transport=polling" in response.url and response.request.method == "GET":
            with contextlib.suppress(Exception):  # a long poll cut short by the page closing
                self.polled.append(response.text())

    def login(self, username):
        self.page.goto("/login")
        self.page.fill("#username", username)
        self.page.fill("#password", DEMO_PASSWORD)
        with self.page.expect_navigation():
            self.page.get_by_role("button", name="登录", exact=True).click()
        assert "/login" not in self.page.url

    def enter(self, case_id):
        response = self.page.goto(f"/cases/{case_id}/room")
        assert response.status == 200
        self.page.wait_for_selector("#room[data-ready=true]")
        return self

    def say(self, text):
        self.page.fill("#body", text)
        self.page.click("#composer button[type=submit]")

    def pane(self, room):
        return self.page.locator(f'ol.messages[data-room="{room}"]')

    def received(self) -> str:
        return "\n".join(self.frames + self.polled)


def test_two_phones_and_the_mediator_in_the_room(app, room_case, media_browser, live_server, artifacts):
    case_id, mediator_name = room_case
    mediator = Person(media_browser, live_server, mediator_name).enter(case_id)
    applicant = Person(media_browser, live_server, "resident1").enter(case_id)
    respondent = Person(media_browser, live_server, "resident2", block_websocket=True).enter(case_id)
    try:
        # Messages arrive within a second, over websocket and over long-polling alike.
        assert "兼容模式" in respondent.page.inner_text("#conn")
        assert "已连接" in applicant.page.inner_text("#conn")
        mediator.say("各位好，今天我们先听申请人说明情况。")
        applicant.pane("joint").get_by_text("各位好，今天我们先听申请人说明情况。").wait_for(timeout=1000)
        respondent.pane("joint").get_by_text("各位好，今天我们先听申请人说明情况。").wait_for(timeout=1000)
        applicant.say("楼上漏水三个月了，天花板发霉。")
        mediator.pane("joint").get_by_text("楼上漏水三个月了，天花板发霉。").wait_for(timeout=1000)
        respondent.pane("joint").get_by_text("楼上漏水三个月了，天花板发霉。").wait_for(timeout=1000)

        # Caucus: the mediator takes the applicant aside; what they say there never reaches the respondent.
        mediator.page.locator("#placements .placement-row").filter(has_text="王秀英").locator(".move-caucus").click()
        applicant.page.wait_for_selector("#placement:has-text('背靠背')")
        applicant.say("私下说：三千元我也能接受。")
        caucus = mediator.page.locator("#tabs .tab").filter(has_text="背靠背：申请人")
        caucus.click()
        mediator.page.locator("ol.messages:visible").get_by_text("私下说：三千元我也能接受。").wait_for(timeout=1000)
        mediator.page.locator("#tabs .tab").filter(has_text="联合调解").click()
        mediator.say("请被申请人谈谈看法。")  # after the caucus message: once this arrives, the other would have too
        respondent.pane("joint").get_by_text("请被申请人谈谈看法。").wait_for(timeout=1000)
        assert "三千元我也能接受" not in respondent.page.content()
        assert "三千元我也能接受" not in respondent.received()
        assert "三千元我也能接受" in applicant.page.content()

        # An offer from the mediator, accepted by both parties, shows as accepted to everyone.
        mediator.page.click("#offer-details summary")
        mediator.page.fill("#amount", "3000")
        mediator.page.fill("#instalments", "2")
        mediator.page.check("#apology")
        mediator.page.click("#offer-form button[type=submit]")
        for person in (applicant, respondent):
            person.page.locator("#offers .offer").filter(has_text="3,000.00").locator("button.accept").click()
        for person in (mediator, applicant, respondent):
            person.page.locator("#offers .offer[data-status=accepted]").filter(has_text="双方已接受").wait_for()

        # A reconnect restores the history: the applicant's phone loses its network, messages go on without it.
        applicant.context.set_offline(True)
        mediator.say("网络断开期间的消息。")
        respondent.pane("joint").get_by_text("网络断开期间的消息。").wait_for()
        applicant.context.set_offline(False)
        # (the applicant is still in their caucus: the joint room's messages are on the other tab, not hidden from them)
        applicant.pane("joint").get_by_text("网络断开期间的消息。").wait_for(state="attached", timeout=15_000)
        applicant.page.reload()
        applicant.page.wait_for_selector("#room[data-ready=true]")
        for text in ("各位好，今天我们先听申请人说明情况。", "网络断开期间的消息。"):
            applicant.pane("joint").get_by_text(text).wait_for(state="attached")
        assert applicant.page.locator(".msg:has-text('网络断开期间的消息。')").count() == 1

        # Video: the mediator calls the applicant, who answers; both ends reach "connected".
        mediator.page.locator("#call-buttons button.call").filter(has_text="王秀英").click()
        applicant.page.locator("#call-buttons button.accept-call").click()
        for person in (mediator, applicant):
            person.page.wait_for_selector("#video-card[data-call-state=connected]", timeout=20_000)

        for who, person in (("mediator", mediator), ("applicant", applicant), ("respondent", respondent)):
            person.page.screenshot(path=str(artifacts / f"room-{who}.png"), full_page=True)
        for person in (mediator, applicant, respondent):
            assert person.problems.all() == []
    finally:
        for person in (mediator, applicant, respondent):
            person.context.close()


def test_an_outsider_cannot_enter_the_room(app, room_case, media_browser, live_server):
    case_id, _ = room_case
    outsider = Person(media_browser, live_server, "grid1")
    try:
        assert outsider.page.goto(f"/cases/{case_id}/room").status == 404
        # Even with the script of someone else's room page, the socket refuses them.
        outsider.page.goto("/")
        outsider.page.add_script_tag(url="/static/vendor/socket.io.min.js")
        outcome = outsider.page.evaluate("""(caseId) => new Promise((resolve) => {
            const s = io('/room', {auth: {case_id: caseId}, transports: ['websocket'], reconnection: false});
            s.on('state', () => resolve('joined'));
            s.on('connect_error', (e) => resolve('refused: ' + e.message));
            setTimeout(() => resolve('timeout'), 5000);
        })""", case_id)
        assert outcome.startswith("refused"), outcome
    finally:
        outsider.context.close()

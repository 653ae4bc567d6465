"""tests/browser/console_scenario.py: the web console in headless Chromium
(backend_console_browser; tests/browser/console-browser sets up the fleet and
runs this). Steps, each ending in a screenshot <shots>/console-NN-<step>.png:
  1 login     the login form; a wrong token is refused with a message
  2 events    logged in with the operator token: who am I, the stream live
  3 live      a device sends a face of PERSON (not enrolled): its row appears
              in the open page without a reload, not granted
  4 detail    a click on the row: the event's detail, the reconstruction
              image loaded (non-zero size, a blob: URL), labelled as one,
              with capture/decision times and latency
  5 enrol     the identities page: PERSON enrolled from an uploaded photo
  6 granted   the live page again; the device sends PERSON's face again:
              the new row shows granted as PERSON
  7 granted-detail  its detail: the reconstruction, PERSON first in the top-k
Fails (exit 1) when the page does not show what it should, or raised a
JavaScript exception or a console error (a CSP violation is one)."""
import argparse
import json
import shlex
import subprocess
import sys
import time
import urllib.request

from cdp import Browser, CdpError, find_chromium

SHOTS = []


def shot(b, args, name):
    path = f"{args.shots}/console-{len(SHOTS) + 1:02d}-{name}.png"
    b.screenshot(path)
    SHOTS.append(path)
    print(f"console-browser: screenshot {path}", flush=True)


def api_get(args, token, path):
    req = urllib.request.Request(args.url.rstrip("/") + "/api/v1" + path, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return json.load(r)


def send_face(args, image):
    cmd = shlex.split(args.send) + [image]
    r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=120)
    if r.returncode != 0:
        raise CdpError(f"sending {image} failed (exit {r.returncode}): {r.stdout.decode(errors='replace')[-800:]}")


def device_rows(device):
    return f"Array.from(document.querySelectorAll('#events tr[data-event-id]')).filter(r => r.cells[2].textContent === {json.dumps(device)})"


def step_login(b, args, token):
    b.navigate(args.url)
    b.wait_for("!!document.querySelector('#login input#token')", 20, "the login form")
    shot(b, args, "login")
    b.type("#token", "not-a-token")
    b.click("#login button[type=submit]")
    b.wait_for("document.querySelector('#login-message .error')?.textContent.includes('Login failed')", 10,
               "a wrong token refused with a message")
    b.problems.clear()  # the 401 of that refusal, logged by the browser, was the point
    b.type("#token", token)
    b.click("#login button[type=submit]")
    who = b.wait_for("document.getElementById('who').textContent", 10, "who am I in the header")
    if args.token_name not in who or "operator" not in who:
        raise CdpError(f"the header shows {who!r}, expected {args.token_name} and operator")
    if b.evaluate("location.href.includes(" + json.dumps(token) + ") || document.cookie !== ''"):
        raise CdpError("the token is in the URL or a cookie")
    b.wait_for("document.getElementById('stream-status')?.textContent === 'live'", 15, "the event stream live")
    shot(b, args, "events")


def wait_live_row(b, args, before, what):
    """The device's newest row once one more than `before` is in the table, as [id, decision, identity]."""
    rows = device_rows(args.device)
    got = b.wait_for(f"(() => {{ const r = {rows}; return r.length > {before} && r[0].classList.contains('fresh') &&"
                     f" [r[0].dataset.eventId, r[0].dataset.decision, r[0].dataset.identity]; }})()", 60, what)
    if not b.evaluate("window.__ffNoReload === true"):
        raise CdpError("the page reloaded: the row did not come live")
    return got


def step_live(b, args, token):
    b.evaluate("window.__ffNoReload = true")
    before = b.evaluate(f"{device_rows(args.device)}.length")
    send_face(args, args.probe)
    ev_id, decision, identity = wait_live_row(b, args, before, "the device's face live in the events page")
    latest = api_get(args, token, f"/events?device={args.device}&limit=1")["events"]
    if not latest or latest[0]["event_id"] != ev_id:
        raise CdpError(f"the live row {ev_id} is not the device's latest event {latest[:1]}")
    if decision == "granted":
        raise CdpError(f"{args.person} is not enrolled yet, but the face was granted as {identity}")
    print(f"console-browser: live row {ev_id}: {decision}", flush=True)
    shot(b, args, "live")
    return ev_id


def step_detail(b, args, ev_id):
    b.click(f"#events tr[data-event-id='{ev_id}']")
    size = b.wait_for("(() => { const i = document.querySelector('#face img'); return i && i.complete &&"
                      " i.naturalWidth > 0 && [i.naturalWidth, i.naturalHeight, i.src.slice(0, 5)]; })()", 20,
                      "the reconstruction image loaded in the event's detail")
    if size[2] != "blob:":
        raise CdpError(f"the image is not from a blob: URL ({size[2]})")
    text = b.evaluate("document.getElementById('event-detail').textContent")
    for want in ("RECONSTRUCTION", args.device, "Captured", "Decided", "Backend latency", ev_id):
        if want not in text:
            raise CdpError(f"the event's detail lacks {want!r}: {text[:400]!r}")
    print(f"console-browser: reconstruction {size[0]}x{size[1]}", flush=True)
    shot(b, args, "detail")


def step_enrol(b, args):
    b.click("#nav a[data-view=identities]")
    b.wait_for("!!document.querySelector('#enrol input[name=photo]') && !!document.getElementById('identities')",
               15, "the identities page with its enrolment form")
    b.type("#enrol input[name=identity]", args.person)
    b.click(f"#enrol input[name=sites][value='{args.site}']")
    b.set_files("#enrol input[name=photo]", [args.enrol_photo])
    b.wait_for("(() => { const p = document.querySelector('#enrol img.preview'); return p && !p.hidden &&"
               " p.complete && p.naturalWidth > 0; })()", 10, "the chosen photo's preview")
    b.click("#enrol button[type=submit]")
    msg = b.wait_for("document.querySelector('#identities-message .note, #identities-message .error')?.textContent",
                     60, "the enrolment's outcome")
    if not msg.startswith(f"Enrolled {args.person}"):
        raise CdpError(f"enrolment: {msg}")
    b.wait_for(f"!!document.querySelector('#identities tr[data-identity={json.dumps(args.person)}]')", 10,
               f"{args.person} in the identities list")
    shot(b, args, "enrol")


def step_granted(b, args):
    b.click("#nav a[data-view=events]")
    b.wait_for("document.getElementById('stream-status')?.textContent === 'live'", 15, "the event stream live again")
    b.evaluate("window.__ffNoReload = true")
    before = b.evaluate(f"{device_rows(args.device)}.length")
    send_face(args, args.probe)
    ev_id, decision, identity = wait_live_row(b, args, before, "the next face live in the events page")
    print(f"console-browser: live row {ev_id}: {decision} {identity}", flush=True)
    shot(b, args, "granted")
    if decision != "granted" or identity != args.person:
        raise CdpError(f"the next face of {args.person} shows {decision} {identity!r}, expected granted")
    return ev_id


def step_granted_detail(b, args, ev_id):
    b.click(f"#events tr[data-event-id='{ev_id}']")
    b.wait_for("(() => { const i = document.querySelector('#face img'); return i && i.complete && i.naturalWidth > 0; })()",
               20, "the granted event's reconstruction")
    top = b.evaluate("document.querySelector('#topk tbody tr td')?.textContent")
    if top != args.person:
        raise CdpError(f"the granted event's first candidate is {top!r}, expected {args.person}")
    shot(b, args, "granted-detail")


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for opt in ("url", "token-file", "token-name", "shots", "device", "site", "person", "enrol-photo", "probe", "send"):
        ap.add_argument("--" + opt, required=True)
    args = ap.parse_args()
    binary = find_chromium()
    if not binary:
        print("console-browser: chromium is not installed: skipped")
        return 77
    with open(args.token_file) as f:
        token = f.read().strip()
    b = Browser(binary, log_path=f"{args.shots}/chromium.log")
    t0 = time.time()
    try:
        step_login(b, args, token)
        ev_id = step_live(b, args, token)
        step_detail(b, args, ev_id)
        step_enrol(b, args)
        step_granted_detail(b, args, step_granted(b, args))
        if b.problems:
            raise CdpError("the page reported: " + "; ".join(b.problems))
    except (CdpError, OSError, subprocess.SubprocessError) as e:
        try:
            shot(b, args, "failed")
        except Exception:
            pass
        print(f"console-browser: FAILED: {e}", file=sys.stderr)
        try:
            print("console-browser: the page said: " + " ".join(b.evaluate("document.body.innerText").split())[:600],
                  file=sys.stderr)
        except Exception:
            pass
        for p in b.problems:
            print(f"console-browser: page: {p}", file=sys.stderr)
        return 1
    finally:
        b.close()
    print(f"console-browser: passed in {time.time() - t0:.1f} s; screenshots: {' '.join(SHOTS)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

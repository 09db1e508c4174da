# Records the original voracious's answers for TestConformance and prints them as the Go table
# of conformance_test.go. Needs the original voracious.py in ORIGINAL_DIR and uvicorn, FastAPI
# and pydantic for the Python that runs this (Debian 12: apt-get install python3-fastapi
# python3-uvicorn python3-yaml). Each case runs against a freshly started original on loopback:
#   ORIGINAL_DIR=/path/to/original /usr/bin/python3 record-original.py > table.txt
import http.client, json, os, subprocess, time, sys

PORT = 18099
ORIGINAL_DIR = os.environ.get("ORIGINAL_DIR", ".")

def start():
    p = subprocess.Popen([sys.executable, "-m", "uvicorn", "voracious:app", "--port", str(PORT), "--log-level", "warning"], cwd=ORIGINAL_DIR)
    for _ in range(100):
        try:
            c = http.client.HTTPConnection("127.0.0.1", PORT); c.request("GET", "/openapi.json"); c.getresponse().read(); return p
        except Exception:
            time.sleep(0.05)
    raise SystemExit("no start")

def do(method, path, body):
    c = http.client.HTTPConnection("127.0.0.1", PORT)
    headers = {"Content-Type": "application/json"} if body is not None else {}
    c.request(method, path, body=body.encode() if body is not None else None, headers=headers)
    r = c.getresponse()
    data = r.read().decode()
    loc = r.getheader("location") or ""
    loc = loc.replace(f"http://127.0.0.1:{PORT}", "")
    return r.status, data, loc, r.getheader("content-type") or ""

S = "/accounts/a/applications/{}/servo"
def ev(e, param=None, raw=None):
    if raw is not None:
        return '{"event":"%s","param":{"progress":%s}}' % (e, raw)
    if param is None:
        return '{"event":"%s"}' % e
    return json.dumps({"event": e, "param": param})

SETUP = [ev("HELLO"), ev("WHATS_NEXT"), ev("DESCRIPTION"), ev("WHATS_NEXT")]

cases = []
# float progress, numeric strings, booleans, refused values
for name, raw, probe in [
    ("50.0", "50.0", 50), ("12.5", "12.5", 12), ("12.9", "12.9", 12), ("-0.5", "-0.5", 0), ("-3.7", "-3.7", -3),
    ("1e2", "1e2", 100), ("1.5E1", "1.5E1", 15), ("-0", "-0", 0),
    ("string 12", '"12"', 12), ("string space 12", '" 12\\n"', 12), ("string +12", '"+12"', 12), ("string -4", '"-4"', -4),
    ("string 1_2", '"1_2"', 12), ("string 007", '"007"', 7), ("string arabic-indic 12", '"\\u0661\\u0662"', 12),
    ("true", "true", 1), ("false", "false", 0),
    ("refused string 12.5", '"12.5"', 12), ("refused string abc", '"abc"', 12), ("refused empty string", '""', 12),
    ("refused string _12", '"_12"', 12), ("refused string 1__2", '"1__2"', 12), ("refused string 0x10", '"0x10"', 12),
    ("refused null", "null", 12), ("refused list", "[12]", 12), ("refused object", '{"v":12}', 12), ("refused 1e400", "1e400", 12),
]:
    steps = [("SETUP",)]
    steps.append(("POST", S.format("x"), ev("MEASUREMENT", raw=raw)))
    steps.append(("POST", S.format("x"), ev("MEASUREMENT", {"progress": probe - 1})))
    steps.append(("POST", S.format("x"), ev("MEASUREMENT", {"progress": probe})))
    cases.append(("progress " + name, steps))

cases.append(("adjust payload in file order", [("POST", S.format("x"), b) for b in SETUP + [ev("MEASUREMENT", {"progress": 10}), ev("MEASUREMENT"), ev("WHATS_NEXT")]]))
cases.append(("whats next ignores progress", [("POST", S.format("x"), b) for b in [ev("HELLO"), ev("WHATS_NEXT", {"progress": 5}), ev("DESCRIPTION")]]))
cases.append(("trailing slash redirects", [
    ("POST", S.format("x") + "/", ev("HELLO")),
    ("POST", S.format("x") + "/?q=1", ev("HELLO")),
    ("POST", S.format("x") + "//", ev("HELLO")),
    ("GET", S.format("x") + "/", None),
    ("GET", "/accounts/a/application-overrides/", None),
    ("GET", "/accounts/a/application-overrides/?x=y", None),
    ("POST", "/accounts/a/application-overrides/", ev("HELLO")),
    ("GET", "/accounts/a/application-overrides", None),
    ("POST", S.format("a%2Fb") + "/", ev("HELLO")),
    ("POST", S.format("") + "/", ev("HELLO")),
    ("POST", S.format("x") + "/extra", ev("HELLO")),
    ("GET", "/accounts//application-overrides/", None),
]))
def cycle(app):
    return [("POST", S.format(app), b) for b in SETUP + [ev("MEASUREMENT", {"progress": 10}), ev("MEASUREMENT")]]
cases.append(("statistics with no app", [("GET", "/", None)]))
cases.append(("statistics whole average", [("POST", S.format("x"), ev("HELLO")), ("GET", "/", None)] + cycle("y") + [("GET", "/", None)]))
cases.append(("statistics two cycles", cycle("x") + [("POST", S.format("x"), b) for b in [ev("WHATS_NEXT"), ev("ADJUSTMENT", {"progress": 1}), ev("ADJUSTMENT"), ev("WHATS_NEXT"), ev("MEASUREMENT", {"progress": 1}), ev("MEASUREMENT")]] + [("GET", "/", None)]))
cases.append(("statistics a third", cycle("x") + [("POST", S.format("y"), ev("HELLO")), ("POST", S.format("z"), ev("HELLO")), ("GET", "/", None)]))
cases.append(("escaped name is the same app", [("POST", S.format("%61pp"), ev("HELLO")), ("POST", S.format("app"), ev("WHATS_NEXT")), ("POST", S.format("ap%70"), ev("DESCRIPTION"))]))
cases.append(("names that are no route", [("POST", S.format(""), ev("HELLO")), ("POST", S.format("a%2Fb"), ev("HELLO")), ("POST", "/accounts//applications/x/servo", ev("HELLO"))]))

def gostr(s):
    return "`" + s + "`" if "`" not in s else json.dumps(s)

def line(m, path, body):
    st, data, loc, ct = do(m, path, body)
    b = "" if body is None else body
    return "{%s, %s, %s, %d, %s, %s, %s}," % (json.dumps(m), json.dumps(path), gostr(b), st, json.dumps(ct), gostr(data), json.dumps(loc))

p = start()
setup_lines = [line("POST", S.format("x"), b) for b in SETUP]
p.terminate(); p.wait()
print("var measureSetup = []recorded{")
for l in setup_lines: print("\t" + l)
print("}")
print()
print("var recordedCases = []recordedCase{")
for name, steps in cases:
    p = start()
    try:
        setup = "nil"
        body = []
        for st in steps:
            if st[0] == "SETUP":
                got = [line("POST", S.format("x"), b) for b in SETUP]
                assert got == setup_lines, (name, got)
                setup = "measureSetup"
                continue
            body.append(line(*st))
        print("\t{%s, %s, []recorded{" % (json.dumps(name), setup))
        for l in body: print("\t\t" + l)
        print("\t}},")
    finally:
        p.terminate(); p.wait()
print("}")

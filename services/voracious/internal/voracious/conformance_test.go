package voracious

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"chaossuite.dev/voracious/internal/servo"
)

// The original's answers, recorded: the original voracious.py served by uvicorn 0.17.6, FastAPI
// 0.92.0 and pydantic 1.10.4 (Debian 12's packages) on Python 3.11, every case against a
// freshly started original, each request with Content-Type: application/json as the real
// ServoX client sends it. testdata/record-original.py replays the cases and prints this table.
// TestConformance replays them against voracious: same status and content type always, same
// body byte for byte on 2xx (but for knownDifferences), same redirect target on 307; on 4xx
// the wording of the detail differs (docs/voracious.md lists how).

type recorded struct {
	method, path, body string
	status             int
	contentType        string
	answer             string
	location           string // on 307: the Location header without its scheme and host
}

type recordedCase struct {
	name  string
	setup []recorded
	steps []recorded
}

// knownDifferences are answers voracious gives on purpose where the original gave another.
var knownDifferences = map[string]string{
	// The real ServoX client refuses a MEASURE whose param lacks metrics and control.
	`{"cmd":"MEASURE","param":{}}`: `{"cmd":"MEASURE","param":{"metrics":[],"control":{}}}`,
}

func TestConformance(t *testing.T) {
	apps := []string{"app00000", "app00001", "app00002", "app00003", "app00004"} // VORACIOUS_APPS=5, as the original's N_APPS
	for _, c := range recordedCases {
		t.Run(c.name, func(t *testing.T) {
			h, _, _ := newHandlerWith(t, servo.Options{}, apps)
			srv := httptest.NewServer(h)
			defer srv.Close()
			client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
			for i, step := range append(append([]recorded{}, c.setup...), c.steps...) {
				var body io.Reader
				if step.body != "" {
					body = strings.NewReader(step.body)
				}
				req, err := http.NewRequest(step.method, srv.URL+step.path, body)
				require.NoError(t, err)
				if step.body != "" {
					req.Header.Set("Content-Type", "application/json")
				}
				resp, err := client.Do(req)
				require.NoError(t, err)
				got, err := io.ReadAll(resp.Body)
				resp.Body.Close()
				require.NoError(t, err)
				where := fmt.Sprintf("step %d: %s %s %s", i, step.method, step.path, step.body)
				require.Equal(t, step.status, resp.StatusCode, "%s: %s", where, got)
				assert.Equal(t, step.contentType, resp.Header.Get("Content-Type"), where)
				switch {
				case step.status == http.StatusTemporaryRedirect:
					assert.Equal(t, step.location, strings.TrimPrefix(resp.Header.Get("Location"), srv.URL), where)
					assert.Empty(t, got, where)
				case step.status < 300:
					want := step.answer
					if d, ok := knownDifferences[want]; ok {
						want = d
					}
					assert.Equal(t, want, strings.TrimSuffix(string(got), "\n"), where)
				}
			}
		})
	}
}

var measureSetup = []recorded{
	{"POST", "/accounts/a/applications/x/servo", `{"event":"HELLO"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	{"POST", "/accounts/a/applications/x/servo", `{"event":"WHATS_NEXT"}`, 200, "application/json", `{"cmd":"DESCRIBE","param":{}}`, ""},
	{"POST", "/accounts/a/applications/x/servo", `{"event":"DESCRIPTION"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	{"POST", "/accounts/a/applications/x/servo", `{"event":"WHATS_NEXT"}`, 200, "application/json", `{"cmd":"MEASURE","param":{}}`, ""},
}

var recordedCases = []recordedCase{
	{"progress 50.0", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":50.0}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 49}}`, 400, "application/json", `{"detail":"Sequence error for x: Progress going backwards: old=50, new=49"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 50}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress 12.5", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":12.5}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 11}}`, 400, "application/json", `{"detail":"Sequence error for x: Progress going backwards: old=12, new=11"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 12}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress 12.9", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":12.9}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 11}}`, 400, "application/json", `{"detail":"Sequence error for x: Progress going backwards: old=12, new=11"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 12}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress -0.5", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":-0.5}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": -1}}`, 400, "application/json", `{"detail":"Sequence error for x: Progress going backwards: old=0, new=-1"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 0}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress -3.7", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":-3.7}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": -4}}`, 400, "application/json", `{"detail":"Sequence error for x: Progress going backwards: old=-3, new=-4"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": -3}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress 1e2", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":1e2}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 99}}`, 400, "application/json", `{"detail":"Sequence error for x: Progress going backwards: old=100, new=99"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 100}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress 1.5E1", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":1.5E1}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 14}}`, 400, "application/json", `{"detail":"Sequence error for x: Progress going backwards: old=15, new=14"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 15}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress -0", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":-0}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": -1}}`, 400, "application/json", `{"detail":"Sequence error for x: Progress going backwards: old=0, new=-1"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 0}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress string 12", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":"12"}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 11}}`, 400, "application/json", `{"detail":"Sequence error for x: Progress going backwards: old=12, new=11"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 12}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress string space 12", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":" 12\n"}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 11}}`, 400, "application/json", `{"detail":"Sequence error for x: Progress going backwards: old=12, new=11"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 12}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress string +12", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":"+12"}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 11}}`, 400, "application/json", `{"detail":"Sequence error for x: Progress going backwards: old=12, new=11"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 12}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress string -4", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":"-4"}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": -5}}`, 400, "application/json", `{"detail":"Sequence error for x: Progress going backwards: old=-4, new=-5"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": -4}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress string 1_2", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":"1_2"}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 11}}`, 400, "application/json", `{"detail":"Sequence error for x: Progress going backwards: old=12, new=11"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 12}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress string 007", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":"007"}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 6}}`, 400, "application/json", `{"detail":"Sequence error for x: Progress going backwards: old=7, new=6"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 7}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress string arabic-indic 12", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":"\u0661\u0662"}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 11}}`, 400, "application/json", `{"detail":"Sequence error for x: Progress going backwards: old=12, new=11"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 12}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress true", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":true}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 0}}`, 400, "application/json", `{"detail":"Sequence error for x: Progress going backwards: old=1, new=0"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 1}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress false", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":false}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": -1}}`, 400, "application/json", `{"detail":"Sequence error for x: Progress going backwards: old=0, new=-1"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 0}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress refused string 12.5", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":"12.5"}}`, 400, "application/json", `{"detail":"Sequence error for x: Unexpected event event='MEASUREMENT' param={'progress': '12.5'} in state start-measure"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 11}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 12}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress refused string abc", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":"abc"}}`, 400, "application/json", `{"detail":"Sequence error for x: Unexpected event event='MEASUREMENT' param={'progress': 'abc'} in state start-measure"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 11}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 12}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress refused empty string", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":""}}`, 400, "application/json", `{"detail":"Sequence error for x: Unexpected event event='MEASUREMENT' param={'progress': ''} in state start-measure"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 11}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 12}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress refused string _12", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":"_12"}}`, 400, "application/json", `{"detail":"Sequence error for x: Unexpected event event='MEASUREMENT' param={'progress': '_12'} in state start-measure"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 11}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 12}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress refused string 1__2", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":"1__2"}}`, 400, "application/json", `{"detail":"Sequence error for x: Unexpected event event='MEASUREMENT' param={'progress': '1__2'} in state start-measure"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 11}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 12}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress refused string 0x10", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":"0x10"}}`, 400, "application/json", `{"detail":"Sequence error for x: Unexpected event event='MEASUREMENT' param={'progress': '0x10'} in state start-measure"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 11}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 12}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress refused null", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":null}}`, 400, "application/json", `{"detail":"Sequence error for x: Unexpected event event='MEASUREMENT' param={'progress': None} in state start-measure"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 11}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 12}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress refused list", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":[12]}}`, 400, "application/json", `{"detail":"Sequence error for x: Unexpected event event='MEASUREMENT' param={'progress': [12]} in state start-measure"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 11}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 12}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress refused object", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":{"v":12}}}`, 400, "application/json", `{"detail":"Sequence error for x: Unexpected event event='MEASUREMENT' param={'progress': {'v': 12}} in state start-measure"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 11}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 12}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"progress refused 1e400", measureSetup, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT","param":{"progress":1e400}}`, 400, "application/json", `{"detail":"Sequence error for x: Unexpected event event='MEASUREMENT' param={'progress': inf} in state start-measure"}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 11}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 12}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"adjust payload in file order", nil, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"HELLO"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event":"WHATS_NEXT"}`, 200, "application/json", `{"cmd":"DESCRIBE","param":{}}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event":"DESCRIPTION"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event":"WHATS_NEXT"}`, 200, "application/json", `{"cmd":"MEASURE","param":{}}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 10}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event":"WHATS_NEXT"}`, 200, "application/json", `{"cmd":"ADJUST","param":{"state":{"application":{"components":{"web":{"settings":{"cpu":{"value":1},"replicas":{"value":3}}},"java":{"settings":{"mem":{"value":2},"GCTimeRatio":{"value":99}}},"db":{"settings":{"cpu":{"value":1},"commit_delay":{"value":0}}}}}}}}`, ""},
	}},
	{"whats next ignores progress", nil, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"HELLO"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "WHATS_NEXT", "param": {"progress": 5}}`, 200, "application/json", `{"cmd":"DESCRIBE","param":{}}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event":"DESCRIPTION"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"trailing slash redirects", nil, []recorded{
		{"POST", "/accounts/a/applications/x/servo/", `{"event":"HELLO"}`, 307, "", ``, "/accounts/a/applications/x/servo"},
		{"POST", "/accounts/a/applications/x/servo/?q=1", `{"event":"HELLO"}`, 307, "", ``, "/accounts/a/applications/x/servo?q=1"},
		{"POST", "/accounts/a/applications/x/servo//", `{"event":"HELLO"}`, 307, "", ``, "/accounts/a/applications/x/servo"},
		{"GET", "/accounts/a/applications/x/servo/", ``, 307, "", ``, "/accounts/a/applications/x/servo"},
		{"GET", "/accounts/a/application-overrides/", ``, 307, "", ``, "/accounts/a/application-overrides"},
		{"GET", "/accounts/a/application-overrides/?x=y", ``, 307, "", ``, "/accounts/a/application-overrides?x=y"},
		{"POST", "/accounts/a/application-overrides/", `{"event":"HELLO"}`, 307, "", ``, "/accounts/a/application-overrides"},
		{"GET", "/accounts/a/application-overrides", ``, 200, "application/json", `{"app00000":{"mode":null,"mode_limit":null,"state":"active"},"app00001":{"mode":null,"mode_limit":null,"state":"active"},"app00002":{"mode":null,"mode_limit":null,"state":"active"},"app00003":{"mode":null,"mode_limit":null,"state":"active"},"app00004":{"mode":null,"mode_limit":null,"state":"active"}}`, ""},
		{"POST", "/accounts/a/applications/a%2Fb/servo/", `{"event":"HELLO"}`, 404, "application/json", `{"detail":"Not Found"}`, ""},
		{"POST", "/accounts/a/applications//servo/", `{"event":"HELLO"}`, 404, "application/json", `{"detail":"Not Found"}`, ""},
		{"POST", "/accounts/a/applications/x/servo/extra", `{"event":"HELLO"}`, 404, "application/json", `{"detail":"Not Found"}`, ""},
		{"GET", "/accounts//application-overrides/", ``, 404, "application/json", `{"detail":"Not Found"}`, ""},
	}},
	{"statistics with no app", nil, []recorded{
		{"GET", "/", ``, 200, "application/json", `{"n":0,"average":null,"min":null,"max":null}`, ""},
	}},
	{"statistics whole average", nil, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"HELLO"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"GET", "/", ``, 200, "application/json", `{"n":1,"average":0.0,"min":0,"max":0}`, ""},
		{"POST", "/accounts/a/applications/y/servo", `{"event":"HELLO"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/y/servo", `{"event":"WHATS_NEXT"}`, 200, "application/json", `{"cmd":"DESCRIBE","param":{}}`, ""},
		{"POST", "/accounts/a/applications/y/servo", `{"event":"DESCRIPTION"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/y/servo", `{"event":"WHATS_NEXT"}`, 200, "application/json", `{"cmd":"MEASURE","param":{}}`, ""},
		{"POST", "/accounts/a/applications/y/servo", `{"event": "MEASUREMENT", "param": {"progress": 10}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/y/servo", `{"event":"MEASUREMENT"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"GET", "/", ``, 200, "application/json", `{"n":2,"average":0.5,"min":0,"max":1}`, ""},
	}},
	{"statistics two cycles", nil, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"HELLO"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event":"WHATS_NEXT"}`, 200, "application/json", `{"cmd":"DESCRIBE","param":{}}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event":"DESCRIPTION"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event":"WHATS_NEXT"}`, 200, "application/json", `{"cmd":"MEASURE","param":{}}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 10}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event":"WHATS_NEXT"}`, 200, "application/json", `{"cmd":"ADJUST","param":{"state":{"application":{"components":{"web":{"settings":{"cpu":{"value":1},"replicas":{"value":3}}},"java":{"settings":{"mem":{"value":2},"GCTimeRatio":{"value":99}}},"db":{"settings":{"cpu":{"value":1},"commit_delay":{"value":0}}}}}}}}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "ADJUSTMENT", "param": {"progress": 1}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event":"ADJUSTMENT"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event":"WHATS_NEXT"}`, 200, "application/json", `{"cmd":"MEASURE","param":{}}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 1}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"GET", "/", ``, 200, "application/json", `{"n":1,"average":2.0,"min":2,"max":2}`, ""},
	}},
	{"statistics a third", nil, []recorded{
		{"POST", "/accounts/a/applications/x/servo", `{"event":"HELLO"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event":"WHATS_NEXT"}`, 200, "application/json", `{"cmd":"DESCRIBE","param":{}}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event":"DESCRIPTION"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event":"WHATS_NEXT"}`, 200, "application/json", `{"cmd":"MEASURE","param":{}}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event": "MEASUREMENT", "param": {"progress": 10}}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/x/servo", `{"event":"MEASUREMENT"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/y/servo", `{"event":"HELLO"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/z/servo", `{"event":"HELLO"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"GET", "/", ``, 200, "application/json", `{"n":3,"average":0.3333333333333333,"min":0,"max":1}`, ""},
	}},
	{"escaped name is the same app", nil, []recorded{
		{"POST", "/accounts/a/applications/%61pp/servo", `{"event":"HELLO"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
		{"POST", "/accounts/a/applications/app/servo", `{"event":"WHATS_NEXT"}`, 200, "application/json", `{"cmd":"DESCRIBE","param":{}}`, ""},
		{"POST", "/accounts/a/applications/ap%70/servo", `{"event":"DESCRIPTION"}`, 200, "application/json", `{"status":"ok","message":null}`, ""},
	}},
	{"names that are no route", nil, []recorded{
		{"POST", "/accounts/a/applications//servo", `{"event":"HELLO"}`, 404, "application/json", `{"detail":"Not Found"}`, ""},
		{"POST", "/accounts/a/applications/a%2Fb/servo", `{"event":"HELLO"}`, 404, "application/json", `{"detail":"Not Found"}`, ""},
		{"POST", "/accounts//applications/x/servo", `{"event":"HELLO"}`, 404, "application/json", `{"detail":"Not Found"}`, ""},
	}},
}

package servo

import (
	"fmt"
	"unicode"
	"unicode/utf8"
)

// MaxNameBytes is the longest account or app name the store holds. The original's app names
// are a few characters long (app00000); the cap keeps one request from costing megabytes.
const MaxNameBytes = 256

// NameError is an account or app name the store refuses. The API and the restore apply the
// same rule (CheckName), so that a state file the service wrote always reads back.
type NameError struct {
	Kind   string // "account" or "app"
	Name   string
	Reason string
}

// Error implements error.
func (e *NameError) Error() string {
	return fmt.Sprintf("%s name %s %s", e.Kind, QuoteName(e.Name), e.Reason)
}

// QuoteName quotes a name for a message: escaped, and cut after 64 bytes.
func QuoteName(name string) string {
	if len(name) > 64 {
		return fmt.Sprintf("%q...", name[:64])
	}
	return fmt.Sprintf("%q", name)
}

// CheckName returns a *NameError when name cannot be an account or app name: empty, over
// MaxNameBytes, not valid UTF-8 (JSON would turn every bad byte into U+FFFD, so %FF and %FE
// would come back from the state file as one name), holding a slash (no path segment can)
// or a control character (NUL, CR, LF and the rest of Unicode's Cc).
func CheckName(kind, name string) error {
	bad := func(format string, args ...any) error {
		return &NameError{Kind: kind, Name: name, Reason: fmt.Sprintf(format, args...)}
	}
	if name == "" {
		return bad("is empty")
	}
	if len(name) > MaxNameBytes {
		return bad("is %d bytes long, over the limit of %d", len(name), MaxNameBytes)
	}
	for i := 0; i < len(name); {
		c := name[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '/':
				return bad("holds a slash")
			case c < 0x20 || c == 0x7f:
				return bad("holds the control character %U", rune(c))
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(name[i:])
		if r == utf8.RuneError && size == 1 {
			return bad("is not valid UTF-8")
		}
		if unicode.IsControl(r) {
			return bad("holds the control character %U", r)
		}
		i += size
	}
	return nil
}

func checkNames(account, app string) error {
	if err := CheckName("account", account); err != nil {
		return err
	}
	return CheckName("app", app)
}

package notify

import (
	"bytes"
	"fmt"
	htmltemplate "html/template"
	"strings"
	texttemplate "text/template"
)

// The words follow GitLab's own mails (its access_token_about_to_expire,
// access_token_expired, ssh_key_expiring_soon and ssh_key_expired
// notifications); the list is gitgate's, one line per token or key.

// Subjects of the four kinds of mail.
const (
	SubjectTokenExpired  = "Your personal access token has expired"
	SubjectKeyExpiring   = "Your SSH key is expiring soon."
	SubjectKeyExpired    = "Your SSH key has expired"
	subjectTokenExpiring = "Your personal access token will expire in %d days or less"
)

// SubjectTokenExpiring is the warning's subject for a threshold of days.
func SubjectTokenExpiring(days int) string { return fmt.Sprintf(subjectTokenExpiring, days) }

// item is one token or key listed in a mail.
type item struct {
	Name string
	// Detail is "scopes: api, read_repository" or "SHA256:…".
	Detail string
	// Date is the expiry date, YYYY-MM-DD.
	Date string
}

// mailData is what a template sees.
type mailData struct {
	Greeting string
	Intro    string
	Items    []item
	DateVerb string // "expires on" / "expired on"
	LinkText string
	Link     string
	Host     string
}

var textTemplate = texttemplate.Must(texttemplate.New("text").Parse(`Hi {{.Greeting}},

{{.Intro}}
{{range .Items}}
- {{.Name}} ({{.Detail}}), {{$.DateVerb}} {{.Date}}{{end}}

{{.LinkText}}
{{.Link}}

-- 
You are receiving this email because of your account on {{.Host}}.
`))

var htmlTemplate = htmltemplate.Must(htmltemplate.New("html").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"></head>
<body style="font-family: sans-serif; line-height: 1.5">
<p>Hi {{.Greeting}},</p>
<p>{{.Intro}}</p>
<ul>{{range .Items}}
<li><strong>{{.Name}}</strong> ({{.Detail}}), {{$.DateVerb}} {{.Date}}</li>{{end}}
</ul>
<p>{{.LinkText}} <a href="{{.Link}}">{{.Link}}</a></p>
<hr>
<p style="color: #666; font-size: smaller">You are receiving this email because of your account on {{.Host}}.</p>
</body></html>
`))

// render writes both parts of a mail.
func render(d mailData) (text, html string, err error) {
	var t, h bytes.Buffer
	if err := textTemplate.Execute(&t, d); err != nil {
		return "", "", fmt.Errorf("render mail text: %w", err)
	}
	if err := htmlTemplate.Execute(&h, d); err != nil {
		return "", "", fmt.Errorf("render mail html: %w", err)
	}
	return t.String(), h.String(), nil
}

// tokenIntro and keyIntro are the first sentence of each kind of mail.
func tokenIntro(kind string, days int) (intro, verb string) {
	if kind == KindTokenExpired {
		return "One or more of your personal access tokens have expired:", "expired on"
	}
	return fmt.Sprintf("One or more of your personal access tokens will expire in %d days or less:", days), "expires on"
}

func keyIntro(kind string) (intro, verb string) {
	if kind == KindKeyExpired {
		return "One or more of your SSH keys have expired and can no longer be used to access Git over SSH:", "expired on"
	}
	return "One or more of your SSH keys will expire soon:", "expires on"
}

const (
	tokenLinkText = "You can create a new one or check them in your personal access tokens settings:"
	keyLinkText   = "You can add a new one or check them in your SSH keys settings:"
)

func scopesDetail(scopes []string) string { return "scopes: " + strings.Join(scopes, ", ") }

package config

import (
	"fmt"
	"time"
)

// Transcript configures the Customer Channel's transcripts.
type Transcript struct {
	// Fonts are TrueType (.ttf) files tried in order for each character,
	// so that together they cover the scripts customers write. Empty: the
	// Debian fonts the image installs (DejaVu Sans, Droid Sans Fallback for
	// CJK, Lohit Devanagari); missing files are skipped, and with none the
	// PDF holds Latin-1 text only.
	Fonts []string `yaml:"fonts"`
	// BoldFont is the headings' face (default DejaVu Sans Bold).
	BoldFont string `yaml:"bold_font"`
	// LinkTTL is how long the signed transcript links handed to the
	// customer stay good.
	LinkTTL time.Duration `yaml:"link_ttl"`
	// MailEvery is how long after mailing a transcript a new request mails
	// it again; sooner it is answered and nothing is sent.
	MailEvery time.Duration `yaml:"mail_every"`
	// MailPerMinute bounds the transcripts mailed a minute, all
	// conversations together.
	MailPerMinute int `yaml:"mail_per_minute"`
}

func (t *Transcript) defaults() {
	if t.LinkTTL == 0 {
		t.LinkTTL = time.Hour
	}
	if t.MailEvery == 0 {
		t.MailEvery = 10 * time.Minute
	}
	if t.MailPerMinute == 0 {
		t.MailPerMinute = 30
	}
}

func (t *Transcript) check(path string) []error {
	var errs []error
	bad := func(field, format string, args ...any) {
		errs = append(errs, &FieldError{Field: path + "." + field, Msg: fmt.Sprintf(format, args...)})
	}
	if t.LinkTTL < time.Minute || t.LinkTTL > 7*24*time.Hour {
		bad("link_ttl", "must be between 1m and 168h, got %s", t.LinkTTL)
	}
	if t.MailEvery < 0 {
		bad("mail_every", "must not be negative, got %s", t.MailEvery)
	}
	if t.MailPerMinute < 1 {
		bad("mail_per_minute", "must be at least 1, got %d", t.MailPerMinute)
	}
	for i, f := range t.Fonts {
		if f == "" {
			bad(fmt.Sprintf("fonts[%d]", i), "is empty")
		}
	}
	return errs
}

package auth

import (
	"fmt"
	"time"
)

// DateLayout is how token expiry dates are written everywhere.
const DateLayout = "2006-01-02"

// ParseDate reads a YYYY-MM-DD date as 00:00 UTC of that day.
func ParseDate(s string) (time.Time, error) {
	d, err := time.Parse(DateLayout, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("invalid date %q: want YYYY-MM-DD", s)
	}
	return d.UTC(), nil
}

// Today is 00:00 UTC of now's day.
func Today(now time.Time) time.Time {
	y, m, d := now.UTC().Date()
	return time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
}

// AddDays moves a date by n calendar days.
func AddDays(day time.Time, n int) time.Time { return day.AddDate(0, 0, n) }

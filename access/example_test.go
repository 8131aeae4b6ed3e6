package access_test

import (
	"fmt"

	"github.com/gitgate/gitgate/access"
)

func ExampleParseAccessLevel() {
	l, _ := access.ParseAccessLevel("developer")
	fmt.Println(int(l), l)
	// Output: 30 developer
}

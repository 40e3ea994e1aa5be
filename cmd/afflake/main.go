// Command afflake builds a data lake from affiliate networks' transaction
// APIs, driven by one CUE spec per network.
package main

import (
	"os"

	_ "time/tzdata" // timezones of specs work on machines without tzdata

	"github.com/afflake/afflake/cmd/afflake/cli"
)

func main() { os.Exit(cli.Main()) }

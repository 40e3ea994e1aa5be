// Package schemas embeds the CUE definitions in this directory, so that
// the afflake binary can check files that live outside the repository
// (a deployment's configuration file) against them.
package schemas

import "embed"

// FS holds every .cue file of the schemas package, at its root.
//
//go:embed *.cue
var FS embed.FS

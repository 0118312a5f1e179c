// Package awsconfig edits the shared AWS config file (~/.aws/config) the way
// a person would: it sets a few keys of one profile section and leaves every
// other byte (sections, keys, comments, blank lines, line endings) alone.
package awsconfig

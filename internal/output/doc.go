// Package output writes credentials in the formats their consumers read:
// the AWS credential_process JSON, shell and dotenv environment
// assignments, the AWS container-credentials JSON, and the GCP
// executable-sourced response.
//
// Every writer takes an io.Writer, never os.Stdout, and writes exactly one
// document, so a command's stdout carries only the requested output and
// tests compare it with golden files.
package output

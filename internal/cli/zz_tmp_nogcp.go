//go:build nogcp

package cli

import "github.com/spf13/cobra"

func newGCPCmd(f *Factory, g *globalOptions) *cobra.Command { return &cobra.Command{Use: "gcp"} }

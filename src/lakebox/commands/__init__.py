"""The `lakebox` commands, one module each, named after the command: its options and the one call into the feature
package that does the work. `lakebox.cli` registers them behind its error boundary."""

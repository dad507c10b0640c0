/** Reading and writing topology files: a strict loader that reports every error with its place, and a writer. */
package virtualwire.topology.config;

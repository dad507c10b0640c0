/** libvirt adapter: domains, live migration and lifecycle events (filled in by the libvirt issue). */
package virtualwire.libvirt;

package nodekiller

import "context"

// awaitKill waits for a kill under way to end: once the lever is pulled and this returns, no
// kill is being carried out and none will start until the lever is lifted.
func (n *Nodekiller) awaitKill(context.Context) {
	//lint:ignore SA2001 waiting for the kill under way is the point
	n.killMu.Lock()
	n.killMu.Unlock()
}

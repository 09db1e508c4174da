// Command nodekiller kills a node when asked, through the platform's driver.
package main

import "chaossuite.dev/shared/service"

func main() { service.Main("nodekiller", run) }

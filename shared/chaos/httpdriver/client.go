package httpdriver

import "chaossuite.dev/shared/receiverapi"

// Client speaks to one receiver's admin API with the shared token: receiverapi.Client, under
// the name the driver's callers know it by.
type Client = receiverapi.Client

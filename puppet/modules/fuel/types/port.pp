# @summary A TCP or UDP port number.
type Fuel::Port = Integer[1, 65535]

module github.com/connector-proxy/connector-proxy

go 1.26.0

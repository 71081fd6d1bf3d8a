module coze-bench/go-relay

go 1.19

#!lua name=rushcast
-- rushcast's decisions in Redis (docs/ARCHITECTURE.md): the sale and auction functions follow.
redis.register_function{function_name = 'rc_version', flags = {'no-writes'},
                        callback = function() return '1' end}

"""Left-navigation entry of the customers app (collected by gridcare.core.context_processors)."""

NAV_ITEMS = [("客户查询", "customers:search", None, 10)]

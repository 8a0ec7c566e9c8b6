SECTIONS = [("工单与致电记录", "workorders:customer_orders", 10)]

SECTIONS = [("停电与通知", "notices:customer", 20)]

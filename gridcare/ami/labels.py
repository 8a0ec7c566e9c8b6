EVENT_LABELS = {
    "ami.events_received": "接收电表事件",
    "ami.events_processed": "电表事件已处理",
    "ami.delivery_failed": "电表事件处理失败",
}

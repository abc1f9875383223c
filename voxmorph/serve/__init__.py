"""HTTP/WebSocket server and the browser live page."""

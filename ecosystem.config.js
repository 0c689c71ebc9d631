// PM2: `pm2 start ecosystem.config.js`. Restarts on crash; on stop, PM2 sends SIGINT and
// waits kill_timeout for the bot's graceful drain (SHUTDOWN_DRAIN_SECONDS, default 20 s)
// before killing it.
//
// Readiness: PM2 polls no HTTP endpoint, but with wait_ready it counts the bot online (and
// `pm2 reload` moves on) only once the bot says it is ready, which it does once Slack has
// taken its connection; listen_timeout bounds that wait. For a monitor or load balancer,
// set METRICS_PORT in .env: /metrics, /healthz and /readyz (README "Operating it").
module.exports = {
  apps: [
    {
      name: "slack-assistant-bot",
      script: "main.py",
      interpreter: ".venv/bin/python",
      cwd: __dirname,
      autorestart: true,
      max_restarts: 50,
      min_uptime: "10s",
      restart_delay: 2000,
      exp_backoff_restart_delay: 1000,
      kill_timeout: 30000,
      wait_ready: true,
      listen_timeout: 60000,
      out_file: "logs/bot.out.log",
      error_file: "logs/bot.err.log",
      merge_logs: true,
      time: true,
      env: {
        PYTHONUNBUFFERED: "1",
      },
    },
  ],
};

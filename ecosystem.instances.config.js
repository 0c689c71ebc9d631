// PM2, several instances: `pm2 start ecosystem.instances.config.js` with DATABASE_URL
// set (in .env or the environment): every instance shares that PostgreSQL database
// (README "Running several instances"). Each opens its own Socket Mode connection (Slack
// allows ten per app), or, with SLACK_MODE=http, serves PORT with the others
// (SO_REUSEPORT). `pm2 reload` restarts them one at a time: each drains first (readiness
// false, no new events, answers under way finished), and the next waits until the new
// one says it is ready (wait_ready).
//
// Instance N serves /metrics, /healthz and /readyz on 127.0.0.1:9100 + N (increment_var
// needs the variable set here: a METRICS_PORT in .env gives way to it), so each can be
// scraped and probed; change the first port here.
const single = require("./ecosystem.config.js").apps[0];

module.exports = {
  apps: [
    {
      ...single,
      name: "slack-assistant-bot",
      instances: 3,
      exec_mode: "fork",
      increment_var: "METRICS_PORT",
      env: { ...single.env, METRICS_PORT: "9100" },
      out_file: "logs/bot.out.log",
      error_file: "logs/bot.err.log",
    },
  ],
};

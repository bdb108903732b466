const fetch = require('node-fetch');
const HOOK = 'https://hooks.slack.com/services/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';
const token = process.env.SLACK_TOKEN;
module.exports = (text) => fetch(HOOK, { method: 'POST', body: JSON.stringify({ text }) });

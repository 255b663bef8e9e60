import Mustache

/// The dashboard's pages as Mustache templates, compiled into the server (nothing to install beside the binary, nothing
/// fetched from outside the machine). `{{…}}` escapes HTML; only the server's own SVG charts use `{{{…}}}`.
enum DashboardTemplates {
    static let library: MustacheLibrary = {
        var library = MustacheLibrary()
        for (name, text) in all {
            // The templates are the server's own: one that does not parse is a bug found by the first test.
            try! library.register(text, named: name)
        }
        return library
    }()

    static let all: [(String, String)] = [
        ("head", head), ("foot", foot), ("signIn", signIn), ("jobs", jobs), ("job", job), ("capacity", capacity), ("webhooks", webhooks),
        ("webhook", webhook),
    ]

    static let head = #"""
        <!doctype html>
        <html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
        <title>{{title}} · Trainyard</title>
        <style>
        body{font:14px/1.4 system-ui,sans-serif;margin:0;color:#111}header{display:flex;gap:1em;align-items:center;padding:.6em 1em;background:#0f172a;color:#fff}
        header a{color:#fff;font-weight:600;text-decoration:none}header .who{margin-left:auto;opacity:.8}header form{margin:0}
        main{padding:1em}table{border-collapse:collapse;margin:.5em 0 1em}th,td{text-align:left;padding:.25em .7em;border-bottom:1px solid #e5e7eb}
        .status{font-weight:600}.Completed{color:#15803d}.Failed{color:#b91c1c}.Stopped,.Stopping{color:#92400e}.InProgress{color:#1d4ed8}
        pre#log{background:#0b1020;color:#e5e7eb;padding:.6em;max-height:32em;overflow:auto;white-space:pre-wrap}.hidden{display:none}
        .error{color:#b91c1c}form.inline{display:inline}h2{margin-top:1.4em}
        </style></head><body>
        <header><a href="/">Trainyard</a>{{#project}}<a href="/">Jobs</a><a href="/capacity">Capacity</a><a href="/webhooks">Webhooks</a><span class="who">project <b id="project">{{project}}</b> · {{role}}</span>
        <form method="post" action="/sign-out"><input type="hidden" name="csrf" value="{{csrf}}"><button>Sign out</button></form>{{/project}}</header>
        <main>
        """#

    static let foot = #"""
        </main></body></html>
        """#

    static let signIn = #"""
        {{> head}}
        <h1>Sign in</h1>
        <p>Paste an API key of your project (<code>trainyard keys create</code>, or the admin key the server wrote at its first start).
        It is kept in a cookie this browser sends only to this server, which page scripts cannot read.</p>
        {{#error}}<p class="error" id="error">{{error}}</p>{{/error}}
        <form method="post" action="/sign-in"><label>API key <input type="password" name="key" id="key" size="60" autocomplete="off" required></label>
        <button id="sign-in">Sign in</button></form>
        {{> foot}}
        """#

    static let jobs = #"""
        {{> head}}
        <h1>Jobs</h1>
        <form method="get" action="/" id="filters">
        <label>Status <select name="status">{{#statuses}}<option value="{{value}}"{{#selected}} selected{{/selected}}>{{label}}</option>{{/statuses}}</select></label>
        <label>Name contains <input name="name" value="{{name}}"></label>
        <label>Created from <input type="date" name="after" value="{{after}}"></label> <label>to <input type="date" name="before" value="{{before}}"></label>
        <button>Filter</button></form>
        {{#error}}<p class="error" id="error">{{error}}</p>{{/error}}
        <table id="jobs"><thead><tr><th>Name</th><th>Status</th><th>Secondary status</th><th>Instances</th><th>Created</th></tr></thead><tbody>
        {{#jobs}}<tr data-job="{{name}}"><td><a href="/jobs/{{name}}">{{name}}</a></td><td class="status {{status}}">{{status}}</td><td class="secondary">{{secondary}}</td>
        <td>{{count}} × {{type}}{{#spot}} (spot){{/spot}}</td><td>{{created}}</td></tr>
        {{/jobs}}
        </tbody></table>
        {{^jobs}}<p id="none">No jobs{{#filtered}} match these filters{{/filtered}}.</p>{{/jobs}}
        {{#next}}<p><a id="next" href="{{next}}">Next page</a></p>{{/next}}
        <script>
        // Live: the statuses of the jobs on this page, and jobs submitted since at its top (on the first page), from the
        // JSON API every 2 s (the session's cookie signs the request).
        (function () {
          const rows = new Map([...document.querySelectorAll('tr[data-job]')].map(r => [r.dataset.job, r]));
          const firstPage = {{firstPage}};
          const body = document.querySelector('#jobs tbody');
          function added(job) {
            const row = document.createElement('tr');
            row.dataset.job = job.name;
            const cells = ['', job.status, job.secondary_status,
                           job.instance_count + ' × ' + job.instance_type + (job.use_spot_instances ? ' (spot)' : ''), job.creation_time];
            for (const [index, text] of cells.entries()) {
              const cell = document.createElement('td');
              if (index === 0) {
                const link = document.createElement('a');
                link.href = '/jobs/' + encodeURIComponent(job.name); link.textContent = job.name;
                cell.appendChild(link);
              } else { cell.textContent = text; }
              if (index === 1) cell.className = 'status ' + job.status;
              if (index === 2) cell.className = 'secondary';
              row.appendChild(cell);
            }
            const none = document.getElementById('none'); if (none) none.remove();
            return row;
          }
          async function refresh() {
            try {
              const answer = await fetch('/v1/jobs' + {{{query}}}, {headers: {'Accept': 'application/json'}});
              if (!answer.ok) return;
              const jobs = (await answer.json()).jobs;
              if (firstPage) {
                for (const job of jobs.slice().reverse()) {
                  if (rows.has(job.name)) continue;
                  const row = added(job);
                  rows.set(job.name, row);
                  body.insertBefore(row, body.firstChild);
                }
              }
              for (const job of jobs) {
                const row = rows.get(job.name);
                if (!row) continue;
                const cell = row.querySelector('.status');
                cell.textContent = job.status; cell.className = 'status ' + job.status;
                row.querySelector('.secondary').textContent = job.secondary_status;
              }
              // How many reads the page has taken in (what a watcher, or a test, waits for).
              document.body.dataset.refreshed = Number(document.body.dataset.refreshed || 0) + 1;
            } catch (e) {}
          }
          setInterval(refresh, 2000);
        })();
        </script>
        {{> foot}}
        """#

    static let job = #"""
        {{> head}}
        <h1 id="name">{{name}}</h1>
        <p>Status <span id="status" class="status {{status}}">{{status}}</span> / <span id="secondary">{{secondary}}</span>
        {{#failure}}<br><span class="error" id="failure">{{failure}}</span>{{/failure}}</p>
        {{#stoppable}}<form method="post" action="/jobs/{{name}}/stop" class="inline" id="stop-form"><input type="hidden" name="csrf" value="{{csrf}}">
        <button id="stop">Stop</button></form>{{/stoppable}}
        <table><tr><th>Instances</th><td>{{count}} × {{type}}{{#spot}} (spot){{/spot}}</td></tr><tr><th>Created</th><td>{{created}}</td></tr>
        <tr><th>Training time</th><td>{{training}} s</td></tr><tr><th>Billable time</th><td>{{billable}} s</td></tr>
        {{#warm}}<tr><th>Warm pool</th><td id="warm-pool">{{warm}}</td></tr>{{/warm}}</table>

        <h2>Goodput</h2>
        <table id="goodput"><tr><th>Training</th><td>{{goodput.training}} s</td></tr><tr><th>Productive</th><td>{{goodput.productive}} s</td></tr>
        <tr><th>Lost to faults</th><td>{{goodput.lost}} s</td></tr><tr><th>Uptime</th><td>{{goodput.uptime}}</td></tr>
        <tr><th>Faults</th><td>spot reclaim {{goodput.spot}}, host lost {{goodput.lost_hosts}}, user error {{goodput.user}}, stop {{goodput.stop}}</td></tr>
        <tr><th>Recovered</th><td>{{goodput.recoveries}}{{#goodput.mean}} (in {{goodput.mean}} s on average){{/goodput.mean}}</td></tr></table>

        <h2>Artifacts</h2>
        <table id="artifacts">{{#artifacts}}<tr><th>{{file}}</th><td>{{size}} bytes</td><td><code>{{sha256}}</code></td><td><a href="/jobs/{{name}}/artifacts/{{kind}}" download>Download</a></td></tr>{{/artifacts}}</table>
        {{^artifacts}}<p>None yet: model.tar.gz is uploaded when the job ends.</p>{{/artifacts}}

        <h2>Metrics</h2>
        {{#charts}}<figure><figcaption>{{label}}</figcaption>{{{svg}}}</figure>{{/charts}}
        {{^charts}}<p id="no-metrics">No metric points yet.</p>{{/charts}}

        {{#heatmap}}<h2>Utilisation</h2>{{{heatmap}}}{{/heatmap}}

        <h2>Timeline</h2>
        <table id="timeline"><tr><th>Status</th><th>Start</th><th>Message</th></tr>{{#transitions}}<tr><td>{{status}}</td><td>{{start}}</td><td>{{message}}</td></tr>{{/transitions}}</table>

        <h2>Attempts</h2>
        <table id="attempts"><tr><th>Attempt</th><th>Host</th><th>State</th><th>Spot</th><th>Started</th><th>Ended</th><th>End reason</th></tr>
        {{#hosts}}<tr><td>{{attempt}}</td><td>{{host}}</td><td>{{state}}</td><td>{{spot}}</td><td>{{started}}</td><td>{{ended}}</td><td>{{reason}}</td></tr>{{/hosts}}</table>

        <h2 id="logs">Logs</h2>
        <form method="get" action="/jobs/{{name}}#logs" id="log-filter">
        <label>Host <select id="host" name="host"><option value="">every host</option>{{#hostNames}}<option{{#selected}} selected{{/selected}}>{{name}}</option>{{/hostNames}}</select></label>
        <label>Search <input id="search" name="search" type="search" value="{{search}}" placeholder="text; A-Z in any case"></label> <button id="filter">Show</button>
        {{#searching}}<a href="/jobs/{{name}}#logs" id="every-line">every line</a>{{/searching}}
        <label><input type="checkbox" id="follow" checked> Follow</label></form>
        <p class="pages">{{#earlier}}<a href="{{earlier}}" id="earlier">Earlier lines</a> {{/earlier}}{{#later}}<a href="{{later}}" id="later">Later lines</a> <a href="{{newest}}" id="newest">Newest</a>{{/later}}</p>
        <pre id="log">{{#lines}}<span data-id="{{id}}" data-host="{{host}}">{{host}} | {{message}}
        </span>{{/lines}}</pre>
        {{#noLines}}<p id="no-lines">{{noLines}}</p>{{/noLines}}

        <h2>Events</h2>
        <table id="events"><tr><th>Time</th><th>Type</th><th>Message</th></tr>{{#events}}<tr><td>{{time}}</td><td>{{type}}</td><td>{{message}}</td></tr>{{/events}}</table>
        <script>
        (function () {
          const name = {{{nameJSON}}};
          const log = document.getElementById('log'), hostSelect = document.getElementById('host'), search = document.getElementById('search');
          const live = {{live}}, followHost = {{{followHost}}}, shownSearch = {{{searchJSON}}};
          let last = {{lastLine}};
          // The server's search: ASCII letters in either case, every other character as it is.
          const fold = text => text.replace(/[A-Z]/g, c => c.toLowerCase());
          function visible(span) {
            const host = hostSelect.value, text = fold(search.value);
            return (!host || span.dataset.host === host) && (!text || fold(span.textContent).includes(text));
          }
          function filter() { for (const span of log.children) span.classList.toggle('hidden', !visible(span)); }
          hostSelect.addEventListener('change', filter); search.addEventListener('input', filter);
          // Live lines, at the log's end only: the log stream (Server-Sent Events) after what the page shows, of the
          // host it shows; the page's search filters what arrives.
          const ended = ['Completed', 'Failed', 'Stopped'];
          const after = {{{followToken}}};
          const stream = live ? new EventSource('/v1/jobs/' + encodeURIComponent(name) + '/logs?follow=true'
            + (after ? '&next_token=' + encodeURIComponent(after) : '') + (followHost ? '&host=' + encodeURIComponent(followHost) : '')) : null;
          // Lines are added once a frame, in one batch, and the log keeps its newest 20,000: a chatty job's stream
          // must not lay the page out once a line.
          let pending = [];
          function flush() {
            const batch = document.createDocumentFragment();
            for (const line of pending) {
              const span = document.createElement('span');
              span.dataset.id = line.id; span.dataset.host = line.host;
              span.textContent = line.host + ' | ' + line.message + '\n';
              if (!visible(span)) span.classList.add('hidden');
              batch.appendChild(span);
            }
            pending = [];
            log.appendChild(batch);
            while (log.childElementCount > 20000) log.firstElementChild.remove();
            if (document.getElementById('follow').checked) log.scrollTop = log.scrollHeight;
          }
          if (stream) stream.onmessage = function (event) {
            const line = JSON.parse(event.data);
            if (line.id <= last) return;
            last = line.id;
            if (shownSearch && !fold(line.message).includes(fold(shownSearch))) return;
            if (pending.length === 0) requestAnimationFrame(flush);
            pending.push(line);
          };
          if (stream) stream.onerror = function () { if (ended.includes(document.getElementById('status').textContent)) stream.close(); };
          // Live status, every 2 s until the job has ended.
          const timer = setInterval(async function () {
            try {
              const answer = await fetch('/v1/jobs/' + encodeURIComponent(name), {headers: {'Accept': 'application/json'}});
              if (!answer.ok) return;
              const job = await answer.json();
              const status = document.getElementById('status');
              status.textContent = job.status; status.className = 'status ' + job.status;
              document.getElementById('secondary').textContent = job.secondary_status;
              if (ended.includes(job.status)) {
                clearInterval(timer);
                const stop = document.getElementById('stop-form'); if (stop) stop.remove();
              }
            } catch (e) {}
          }, 2000);
        })();
        </script>
        {{> foot}}
        """#

    static let capacity = #"""
        {{> head}}
        <h1>Capacity</h1>
        <p>Hosts of the pool per instance type and market (the capacity file, the admins' settings and what the provisioner
        reports), those running or starting, those kept in warm pools for the jobs that match them (every project's hosts:
        the pool is shared), those left, and {{project}}'s jobs waiting for them.</p>
        <table id="capacity"><tr><th>Instance type</th><th>Market</th><th>Capacity</th><th>In use</th><th>Kept warm</th><th>Free</th><th>Your jobs waiting</th><th>Your oldest waiting</th></tr>
        {{#pools}}<tr data-pool="{{type}} {{market}}"><td>{{type}}</td><td>{{market}}</td><td>{{total}}</td><td class="in-use">{{inUse}}</td><td class="warm">{{warm}}</td><td class="free">{{free}}</td><td class="queued">{{queued}}</td><td>{{oldest}}</td></tr>{{/pools}}</table>
        {{> foot}}
        """#

    static let webhooks = #"""
        {{> head}}
        <h1>Webhooks</h1>
        <table id="webhooks"><tr><th>URL</th><th>Events</th><th>Status</th><th>Created</th></tr>
        {{#hooks}}<tr data-webhook="{{id}}"><td><a href="/webhooks/{{id}}">{{url}}</a></td><td>{{events}}</td><td>{{status}}{{#reason}}: {{reason}}{{/reason}}</td><td>{{created}}</td></tr>{{/hooks}}</table>
        {{^hooks}}<p id="none">No subscriptions: <code>trainyard webhooks create --url … --events job.completed</code>.</p>{{/hooks}}
        {{> foot}}
        """#

    static let webhook = #"""
        {{> head}}
        <h1>Webhook</h1>
        <p><code id="url">{{url}}</code> · {{events}} · {{status}}</p>
        <table id="deliveries"><tr><th>Created</th><th>Event</th><th>Job</th><th>Status</th><th>Tries</th><th></th></tr>
        {{#deliveries}}<tr data-delivery="{{id}}"><td>{{created}}</td><td>{{event}}</td><td><a href="/jobs/{{job}}">{{job}}</a></td><td class="status">{{status}}</td>
        <td>{{#tries}}{{time}} {{code}}{{#error}} {{error}}{{/error}} ({{latency}} ms)<br>{{/tries}}</td>
        <td>{{#writable}}<form method="post" action="/webhooks/{{hook}}/deliveries/{{id}}/redeliver" class="inline"><input type="hidden" name="csrf" value="{{csrf}}"><button class="redeliver">Redeliver</button></form>{{/writable}}</td></tr>{{/deliveries}}</table>
        {{^deliveries}}<p>No deliveries yet.</p>{{/deliveries}}
        {{> foot}}
        """#
}

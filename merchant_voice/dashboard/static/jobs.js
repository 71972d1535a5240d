// Running jobs' progress, refreshed every 2 s without reloading the page: the rows
// ([data-job]) inside [data-job-status]; a finished row marked data-reload reloads the page
// (to show what the job made).
(function () {
  "use strict";
  const table = document.querySelector("[data-job-status]");
  if (!table) return;
  let stopped = false;
  const rows = () => Array.from(table.querySelectorAll("[data-job]"));
  async function refresh() {
    const watched = rows();
    if (!watched.length) return;
    const ids = watched.map((row) => row.dataset.job).join(",");
    try {
      const answer = await fetch(table.dataset.jobStatus + "?ids=" + encodeURIComponent(ids), {
        headers: { Accept: "application/json" },
        credentials: "same-origin",
      });
      if (!answer.ok) {
        if (answer.status === 401 || answer.status === 403) stopped = true; // signed out
        return;
      }
      const jobs = await answer.json();
      for (const row of watched) {
        const job = jobs[row.dataset.job];
        if (!job) continue;
        row.querySelector("progress").value = job.progress;
        row.querySelector("[data-field=status]").textContent = job.status_name;
        row.querySelector("[data-field=message]").textContent = job.message;
        const left = row.querySelector("[data-field=time-left]"); // the jobs page's rows
        if (left) left.textContent = job.time_left;
        if (job.finished) {
          delete row.dataset.job;
          if (row.dataset.reload !== undefined) window.location.reload();
        }
      }
    } finally {
      if (!stopped && rows().length) setTimeout(refresh, 2000);
    }
  }
  setTimeout(refresh, 2000);
})();

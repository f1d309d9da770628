document.querySelector("form.sample").addEventListener("submit", function (event) {
  if (this.dataset.sent) { event.preventDefault(); return; }
  this.dataset.sent = "1";
  this.querySelector("button[type=submit]").disabled = true;
});

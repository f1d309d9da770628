// The player: the video stays muted (its own soundtrack would give a mismatched pair away) and has no native
// controls (they could unmute it); one play button, seek bar and volume drive the video and the music together.
(function () {
  const video = document.getElementById("video"), music = document.getElementById("music");
  const play = document.getElementById("play"), seek = document.getElementById("seek");
  const time = document.getElementById("time"), volume = document.getElementById("volume");
  const media = [video, music].filter(Boolean);
  const clock = video || music;
  const format = (t) => Math.floor(t / 60) + ":" + String(Math.floor(t % 60)).padStart(2, "0");
  const sync = () => { if (video && music && Math.abs(music.currentTime - video.currentTime) > 0.25) music.currentTime = video.currentTime; };
  const toggle = () => {
    if (clock.paused) { sync(); media.forEach((m) => m.play().catch(() => {})); play.textContent = "Pause"; }
    else { media.forEach((m) => m.pause()); play.textContent = "Play"; }
  };
  play.addEventListener("click", toggle);
  if (video) video.addEventListener("click", toggle);
  seek.addEventListener("input", () => {
    if (!clock.duration) return;
    media.forEach((m) => { m.currentTime = seek.value / 1000 * clock.duration; });
  });
  if (volume && music) volume.addEventListener("input", () => { music.volume = Number(volume.value); });
  clock.addEventListener("timeupdate", () => {
    sync();
    if (clock.duration) seek.value = Math.round(clock.currentTime / clock.duration * 1000);
    time.textContent = format(clock.currentTime) + " / " + format(clock.duration || 0);
  });
  clock.addEventListener("ended", () => { media.forEach((m) => m.pause()); play.textContent = "Play"; });
})();

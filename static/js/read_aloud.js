/* 朗读: reads a page's main text aloud with the browser's speech synthesis.

   Progressive enhancement: the page marks what to read (an element with
   data-read-aloud, its parts data-read-aloud-part, the button labels in
   data-label-* from the template, so they are translated); this script adds
   the buttons only where speechSynthesis exists, so no browser ever shows a
   button that does nothing. A static file: the CSP allows no inline script. */
(function () {
  "use strict";
  var synth = window.speechSynthesis;
  if (!synth || typeof window.SpeechSynthesisUtterance !== "function") {
    return;
  }
  // Chromium stops an utterance after about 15 s: queue sentence-sized ones.
  var CHUNK = 120;

  function chunks(text) {
    var sentences = text.replace(/\s+/g, " ").match(/[^。！？；!?;]+[。！？；!?;]*/g) || [];
    var out = [];
    sentences.forEach(function (sentence) {
      sentence = sentence.trim();
      while (sentence.length > CHUNK) {
        out.push(sentence.slice(0, CHUNK));
        sentence = sentence.slice(CHUNK);
      }
      if (sentence) {
        out.push(sentence);
      }
    });
    return out;
  }

  function chineseVoice() {
    var voices = synth.getVoices ? synth.getVoices() : [];
    return voices.filter(function (v) { return /^zh[-_]CN/i.test(v.lang); })[0] ||
      voices.filter(function (v) { return /^zh/i.test(v.lang); })[0] || null;
  }

  function button(label, name) {
    var b = document.createElement("button");
    b.type = "button";
    b.className = "btn btn-outline-secondary read-aloud-" + name;
    b.textContent = label;
    return b;
  }

  function setUp(root) {
    var parts = root.querySelectorAll("[data-read-aloud-part]");
    var labels = root.dataset;
    var bar = document.createElement("div");
    bar.className = "read-aloud d-flex flex-wrap gap-2 my-2";
    bar.setAttribute("role", "group");
    bar.setAttribute("aria-label", labels.labelGroup);
    var play = button(labels.labelRead, "play");
    var stop = button(labels.labelStop, "stop");
    stop.hidden = true;
    bar.appendChild(play);
    bar.appendChild(stop);
    var status = document.createElement("span");
    status.className = "visually-hidden";
    status.setAttribute("role", "status");
    bar.appendChild(status);
    // state: "idle", "speaking" or "paused"
    var state = "idle";
    var run = 0;

    function show(next) {
      state = next;
      play.textContent = {
        idle: labels.labelRead, speaking: labels.labelPause, paused: labels.labelResume
      }[state];
      stop.hidden = state === "idle";
      root.classList.toggle("is-reading", state !== "idle");
    }

    function start() {
      synth.cancel();
      run += 1;
      var mine = run;
      var text = Array.prototype.map.call(parts.length ? parts : [root], function (el) {
        return el.innerText || el.textContent || "";
      }).join("。\n");
      var pieces = chunks(text);
      var voice = chineseVoice();
      pieces.forEach(function (piece, i) {
        var u = new window.SpeechSynthesisUtterance(piece);
        u.lang = "zh-CN";
        if (voice) {
          u.voice = voice;
        }
        u.rate = 0.9;
        if (i === pieces.length - 1) {
          u.onend = function () {
            if (mine === run) {
              show("idle");
              status.textContent = labels.labelDone;
            }
          };
        }
        u.onerror = function () {
          if (mine === run) {
            show("idle");
          }
        };
        synth.speak(u);
      });
      show(pieces.length ? "speaking" : "idle");
    }

    play.addEventListener("click", function () {
      if (state === "idle") {
        start();
      } else if (state === "speaking") {
        synth.pause();
        show("paused");
      } else {
        synth.resume();
        show("speaking");
      }
    });
    stop.addEventListener("click", function () {
      run += 1;
      synth.cancel();
      show("idle");
      play.focus();
    });
    var heading = root.querySelector("h1");
    if (heading && heading.parentNode === root) {
      heading.insertAdjacentElement("afterend", bar);
    } else {
      root.insertBefore(bar, root.firstChild);
    }
  }

  document.querySelectorAll("[data-read-aloud]").forEach(setUp);
  // Leaving the page ends the reading (some browsers read on otherwise).
  window.addEventListener("pagehide", function () { synth.cancel(); });
}());

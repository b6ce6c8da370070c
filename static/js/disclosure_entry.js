// Entering a disclosure (admin): narrows the choices to what the server
// accepts, as the page is used. Without this script the form works the same
// and the server checks every choice (Disclosure.clean, DisclosureAdminForm).
// - 公开事项: only the items that apply to the chosen unit's level;
// - 所属期间: only the parts of a year the item's frequency allows, and the
//   period it is most likely entered for chosen when none is;
// - 附件: a photo row's file input opens the camera on a phone, a PDF row's
//   offers PDF files.
"use strict";

(function () {
  const KIND_OF_PART = function (part) {
    if (part === "Y") return "year";
    if (part.charAt(0) === "H") return "half";
    if (part.charAt(0) === "Q") return "quarter";
    return "month";
  };
  const KIND_OF_KEY = function (key) {
    const part = key.slice(5);
    return part ? KIND_OF_PART(part) : "year";
  };

  function show(option, visible) {
    option.hidden = !visible;
    option.disabled = !visible;
  }

  function narrowItems(unitSelect, itemSelect, units, items) {
    const level = units[unitSelect.value];
    for (const option of itemSelect.options) {
      if (!option.value) continue;
      const fact = items[option.value];
      show(option, !level || !fact || fact[0].indexOf(level.charAt(0)) >= 0);
    }
    const chosen = itemSelect.options[itemSelect.selectedIndex];
    if (chosen && chosen.disabled) itemSelect.value = "";
  }

  function narrowPeriods(itemSelect, items, yearSelect, partSelect) {
    const fact = items[itemSelect.value];
    const current = fact ? fact[1] : "";
    const kind = current ? KIND_OF_KEY(current) : null;
    for (const option of partSelect.querySelectorAll("option")) {
      if (!option.value) continue;
      show(option, !kind || KIND_OF_PART(option.value) === kind);
    }
    for (const group of partSelect.querySelectorAll("optgroup")) {
      group.hidden = !Array.from(group.children).some((o) => !o.hidden);
    }
    const chosen = partSelect.options[partSelect.selectedIndex];
    if (chosen && chosen.disabled) partSelect.value = "";
    if (current && !partSelect.value) {
      yearSelect.value = current.slice(0, 4);
      partSelect.value = current.slice(5) || "Y";
    }
  }

  function fitFileInput(kindSelect) {
    const fileInput = document.getElementById(
      kindSelect.id.replace(/-kind$/, "-file"),
    );
    if (!fileInput || !fileInput.hasAttribute("data-attachment-file")) return;
    if (kindSelect.value === "document") {
      fileInput.setAttribute("accept", "application/pdf,.pdf");
      fileInput.removeAttribute("capture");
    } else {
      fileInput.setAttribute("accept", "image/*");
      fileInput.setAttribute("capture", "environment");
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    const unitSelect = document.getElementById("id_unit");
    const itemSelect = document.getElementById("id_item");
    const yearSelect = document.getElementById("id_period_0");
    const partSelect = document.getElementById("id_period_1");
    if (itemSelect && itemSelect.dataset.items) {
      const items = JSON.parse(itemSelect.dataset.items);
      const units = JSON.parse(itemSelect.dataset.unitLevels || "{}");
      if (unitSelect) {
        const onUnit = () => narrowItems(unitSelect, itemSelect, units, items);
        unitSelect.addEventListener("change", onUnit);
        onUnit();
      }
      if (yearSelect && partSelect) {
        const onItem = () =>
          narrowPeriods(itemSelect, items, yearSelect, partSelect);
        itemSelect.addEventListener("change", onItem);
        onItem();
      }
    }
    // Inline rows are added by the admin's "add another" link: listen on
    // the document for the rows' kind selects.
    document.addEventListener("change", function (event) {
      const target = event.target;
      if (target.matches && target.matches("select[id$='-kind']")) {
        fitFileInput(target);
      }
    });
  });
})();

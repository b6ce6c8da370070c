// Admin: insert the chosen standard answer (常用答复) into the answer field.
document.addEventListener("DOMContentLoaded", function () {
  var select = document.getElementById("id_answer_template");
  var answer = document.getElementById("id_answer_text");
  if (!select || !answer) {
    return;
  }
  select.addEventListener("change", function () {
    var option = select.options[select.selectedIndex];
    var text = option && option.getAttribute("data-text");
    if (!text) {
      return;
    }
    answer.value = answer.value.trim() ? answer.value + "\n\n" + text : text;
    answer.focus();
  });
});

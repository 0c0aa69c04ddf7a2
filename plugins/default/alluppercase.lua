-- default.alluppercase: every ASCII letter of the text is uppercase (other characters are ignored, as
-- in Portkey), or, with `not: true`, at least one is not (check_util.letter_case_check).
return require("check_util").letter_case_check("upper")

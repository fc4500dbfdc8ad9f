// What people read, in Simplified Chinese (default) and English: each key's [zh, en], as the
// API's catalogue (models/messages/). English when the browser's first language is English
// or the switch says so (kept for this tab only).

const LANG_KEY = "enterprise-desk.console.lang";

export const MESSAGES = {
  TITLE: ["营商环境驾驶舱", "Business environment console"],
  LOADING: ["加载中…", "Loading…"],
  SIGN_IN: ["登录", "Sign in"],
  SIGN_OUT: ["退出登录", "Sign out"],
  USERNAME: ["用户名", "Username"],
  PASSWORD: ["密码", "Password"],
  SIGN_IN_HINT: ["督查、调度和管理员账号可进入驾驶舱", "For supervisors, dispatchers and administrators"],
  TURNED_AWAY: [
    "驾驶舱只供督查、调度（营商办）和管理员使用；你的账号（{roles}）不能进入。",
    "The console is for supervisors, dispatchers (营商办) and administrators; your account ({roles}) cannot enter.",
  ],
  NO_ROLE: ["无角色", "no role"],
  LANGUAGE: ["English", "中文"],
  DASHBOARD: ["驾驶舱", "Dashboard"],
  CALENDAR: ["工作日历", "Working calendar"],
  PRINT: ["打印", "Print"],
  // The filter
  PERIOD: ["统计期间", "Period"],
  FROM: ["从", "From"],
  TO: ["到", "To"],
  THIS_MONTH: ["本月", "This month"],
  LAST_MONTH: ["上月", "Last month"],
  THIS_QUARTER: ["本季度", "This quarter"],
  THIS_YEAR: ["本年", "This year"],
  REGION: ["区域", "Region"],
  DEPARTMENT: ["部门", "Department"],
  CATEGORY: ["类别", "Category"],
  SOURCE: ["来源", "Source"],
  ALL: ["全部", "All"],
  CLEAR_FILTER: ["清除筛选", "Clear filter"],
  // Headline figures
  FIGURES: ["主要指标", "Headline figures"],
  submitted: ["诉求总数", "Submitted"],
  openNow: ["在办", "Open now"],
  overdueNow: ["超期", "Overdue now"],
  warningNow: ["预警", "Warnings now"],
  onTime: ["按时办结率", "On-time rate"],
  satisfaction: ["满意率", "Satisfaction rate"],
  ratedShare: ["已评价占比", "Rated share"],
  UNRATED: ["未评价 {share}", "unrated {share}"],
  responseRate: ["响应率", "Response rate"],
  closure: ["办结率", "Closure rate"],
  returnVisit: ["回访率", "Return-visit rate"],
  badRating: ["差评率", "Bad-rating rate"],
  rectificationOnTime: ["整改按时率", "Rectification on time"],
  RATE_HOVER: ["{numerator} ÷ {denominator}", "{numerator} ÷ {denominator}"],
  COUNT_HOVER: ["期间内提交的诉求", "Demands submitted in the period"],
  NOW_HOVER: ["截至 {today}", "As of {today}"],
  // Trend and handling time
  TREND: ["趋势", "Trend"],
  WEEK: ["按周", "By week"],
  MONTH: ["按月", "By month"],
  HANDLING: ["办理用时", "Handling time"],
  HANDLING_NOTE: ["派单至答复，挂起时间除外；共 {count} 件", "Dispatch to reply, suspended time excluded; {count} demands"],
  MEAN: ["平均", "Mean"],
  MEDIAN: ["中位数", "Median"],
  P90: ["90% 分位", "90th percentile"],
  WORKING_DAYS: ["工作日", "Working days"],
  HOURS: ["小时", "Hours"],
  // Rankings
  RANKING: ["排名", "Ranking"],
  DEPARTMENTS: ["部门", "Departments"],
  TOWNS: ["乡镇（区域）", "Towns (regions)"],
  RANK: ["名次", "Rank"],
  NAME: ["名称", "Name"],
  SCORE: ["综合得分", "Score"],
  RANKING_HINT: ["点击部门即按该部门筛选", "Click a department to filter by it"],
  // The overdue list
  OVERDUE_LIST: ["超期和预警诉求", "Overdue and warning demands"],
  NUMBER: ["工单号", "Work order"],
  DEMAND_TITLE: ["诉求", "Demand"],
  ENTERPRISE: ["企业", "Enterprise"],
  STATE: ["状态", "State"],
  DEADLINE: ["办理期限", "Deadline"],
  REMAINING: ["剩余工作日", "Working days left"],
  OVERDUE_DAYS: ["超期 {days} 个工作日", "{days} working days overdue"],
  DUE_IN: ["还剩 {days} 个工作日", "{days} working days left"],
  NONE: ["无", "None"],
  MORE_ROWS: ["仅显示前 {count} 条", "Only the first {count} shown"],
  FIND_NUMBER: ["按工单号查找，如 QH2026110200003", "Find by work order, e.g. QH2026110200003"],
  FIND: ["查找", "Find"],
  NOT_FOUND: ["未找到工单号 {number}（或不在你的范围内）", "No work order {number} (or not in your scope)"],
  // The demand and its timeline
  TIMELINE: ["办理过程", "Timeline"],
  CLOSE: ["关闭", "Close"],
  STEP_DAYS: ["{days} 个工作日", "{days} working days"],
  BY: ["经办：{name}", "By {name}"],
  SYSTEM: ["系统", "system"],
  EFFECTIVE_DEADLINE: ["期限 {date}", "deadline {date}"],
  // 包联 and service points
  COVERAGE: ["包联走访覆盖（本季度）", "包联 visit coverage (this quarter)"],
  LEADER: ["领导", "Leader"],
  ASSIGNED: ["包联企业", "Assigned"],
  VISITED: ["已走访", "Visited"],
  NOT_VISITED: ["未走访", "Not visited"],
  COVERAGE_RATE: ["覆盖率", "Coverage"],
  UNVISITED_HINT: ["点击领导一行，查看其本季度未走访的包联企业", "Click a leader's row for the enterprises they have not visited this quarter"],
  UNVISITED_LIST: ["{name} 本季度未走访：", "Not visited by {name} this quarter: "],
  AGENCY: ["帮办代办", "Agency service (帮办代办)"],
  SERVICE_POINT: ["服务点", "Service point"],
  AGENCY_SUBMITTED: ["受理", "Submitted"],
  AGENCY_DONE: ["办结", "Done"],
  // Exports
  EXPORTS: ["导出（当前筛选）", "Export (this filter)"],
  demands: ["诉求明细", "Demands"],
  "problem-list": ["问题清单", "Problem list"],
  "rectification-list": ["整改清单", "Rectification list"],
  "responsibility-list": ["责任清单", "Responsibility list"],
  "department-ranking": ["部门排名", "Department ranking"],
  // The calendar (administrators)
  CALENDAR_YEAR: ["年份", "Year"],
  CONFIRMED: ["已确认", "Confirmed"],
  UNCONFIRMED: ["未确认：请录入国务院办公厅公布的放假安排", "Unconfirmed: enter the State Council's holiday arrangement"],
  HOLIDAYS: ["节假日（休息）", "Holidays (days off)"],
  MAKEUP_DAYS: ["调休上班日", "Make-up working days (调休)"],
  DATE: ["日期", "Date"],
  HOLIDAY_NAME: ["名称", "Name"],
  ADD_DAY: ["添加", "Add"],
  REMOVE: ["删除", "Remove"],
  SAVE_YEAR: ["保存本年安排", "Save the year's arrangement"],
  CLEAR_YEAR: ["清除录入（恢复内置）", "Clear what was entered"],
  NOTE: ["说明", "Note"],
  SAVED: ["已保存", "Saved"],
  REGION_DAYS: ["{region}自行调整的日子", "{region}'s own days"],
  LOCAL_DAY_OFF: ["本地休息日", "local day off"],
  LOCAL_WORKDAY: ["本地照常上班", "working day here"],
  NATIONAL_BY_SYSTEM_ADMIN: [
    "全国放假安排由系统管理员录入；这里只能添加本地区与之不同的日子。",
    "The national arrangement is entered by a system administrator; here you add only the days your region keeps differently.",
  ],
  ERROR: ["出错了：{message}", "Something went wrong: {message}"],
  NETWORK: ["无法连接服务器", "Cannot reach the server"],
  BACK_TO_DEFAULT: ["回到本月", "Back to this month"],
};

export const ROLE_NAMES = {
  CADRE: ["干部", "cadre"],
  DISPATCHER: ["调度", "dispatcher"],
  HANDLER: ["经办人", "handler"],
  SERVICE_AGENT: ["帮办员", "service agent"],
  ENTERPRISE: ["企业", "enterprise"],
  SUPERVISOR: ["督查", "supervisor"],
  ADMIN: ["管理员", "administrator"],
};

export const SOURCE_NAMES = {
  VISIT: ["走访", "Visit"],
  APP: ["企业端", "App"],
  HOTLINE_12345: ["12345 热线", "12345 hotline"],
  SERVICE_POINT: ["服务点", "Service point"],
  OTHER: ["其他", "Other"],
};

export const STATE_NAMES = {
  DRAFT: ["草稿", "Draft"],
  SUBMITTED: ["待受理", "Submitted"],
  DISPATCHED: ["待签收", "Dispatched"],
  IN_PROGRESS: ["办理中", "In progress"],
  PENDING_APPROVAL: ["待审批", "Pending approval"],
  PENDING_REVIEW: ["待审核", "Pending review"],
  PENDING_VISIT: ["待回访", "Pending return visit"],
  CLOSED: ["已办结", "Closed"],
  REJECTED: ["不予受理", "Rejected"],
  WITHDRAWN: ["已撤回", "Withdrawn"],
  MERGED: ["已合并", "Merged"],
  SUSPENDED: ["已中止", "Suspended"],
};

export const ACTION_NAMES = {
  SUBMIT: ["提交", "Submit"],
  REJECT: ["不予受理", "Reject"],
  ANSWER_DIRECTLY: ["直接办结", "Answer directly"],
  MERGE: ["合并", "Merge"],
  DISPATCH: ["派单", "Dispatch"],
  CLAIM: ["签收", "Claim"],
  RETURN: ["退单", "Return"],
  DECIDE_RETURN: ["审批退单", "Decide the return"],
  REQUEST_EXTENSION: ["申请延期", "Request an extension"],
  DECIDE_EXTENSION: ["审批延期", "Decide the extension"],
  SUSPEND: ["申请中止", "Suspend"],
  DECIDE_SUSPENSION: ["审批中止", "Decide the suspension"],
  RESUME: ["恢复办理", "Resume"],
  REPLY: ["答复", "Reply"],
  APPROVE_REPLY: ["审批答复", "Approve the reply"],
  REVIEW_REPLY: ["审核答复", "Review the reply"],
  RECORD_RETURN_VISIT: ["回访", "Record a return visit"],
  RATE: ["评价", "Rate"],
  ESCALATE: ["督办", "Escalate"],
  WITHDRAW: ["撤回", "Withdraw"],
  APPEAL_RATING: ["申诉", "Appeal the rating"],
  DECIDE_APPEAL: ["审理申诉", "Decide the appeal"],
};

function browserLocale() {
  const first = (navigator.languages && navigator.languages[0]) || navigator.language || "";
  return first.toLowerCase().startsWith("en") ? "en" : "zh";
}

export let locale = sessionStorage.getItem(LANG_KEY) || browserLocale();

export function setLocale(value) {
  locale = value;
  sessionStorage.setItem(LANG_KEY, value);
  document.documentElement.lang = value === "en" ? "en" : "zh-CN";
}

export function pick(pair) {
  if (!pair) return "";
  return pair[locale === "en" ? 1 : 0];
}

export function t(key, params = {}) {
  const text = pick(MESSAGES[key]) || key;
  return text.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

export const acceptLanguage = () => (locale === "en" ? "en" : "zh-CN");

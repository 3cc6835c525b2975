"""What the demo's spaces, courses, series and blocks are: plain data for stations.demo.spaces."""

from dataclasses import dataclass

from stations.choices import SpaceKind

WEEKDAYS, WEEKEND = (0, 1, 2, 3, 4), (5, 6)
HOURS = ((WEEKDAYS, "08:30", "21:00"), (WEEKEND, "09:00", "17:00"))


@dataclass(frozen=True)
class Use:
    """Something people book a space for. ``{b}`` is the booker's building, ``{ent}`` their employer."""

    purpose: str
    people: tuple[int, int]
    minutes: tuple[int, ...]
    starts: tuple[str, ...]  # local start times, tried in random order
    who: str = "resident"  # resident, employee or anyone
    weight: int = 1
    weekend: bool = True  # also booked on Saturdays and Sundays


@dataclass(frozen=True)
class SpaceSpec:
    name: str
    kind: str
    area_m2: int
    capacity: int
    description: str
    uses: tuple[Use, ...]
    per_day: tuple[int, ...]  # how many bookings a day, drawn from these
    weekdays_only: bool = False
    requires_approval: bool = False
    max_minutes: int = 240


@dataclass(frozen=True)
class CourseSpec:
    title: str
    space: str
    teacher: str
    capacity: int
    description: str
    times: tuple[tuple[int, str, int], ...]  # (weekday, start, minutes)
    residents: int  # how many residents and employees enrol (beyond capacity: the waiting list)
    employees: int
    ages: tuple[int, int]


@dataclass(frozen=True)
class SeriesSpec:
    space: str
    weekday: int
    start: str
    minutes: int
    weeks: int
    purpose: str
    people: int
    own_login: bool  # booked by the organiser themself, else by a worker on their behalf


@dataclass(frozen=True)
class BlockSpec:
    space: str
    week: int  # relative to this week
    weekday: int
    start: str
    end: str
    reason: str


SPACES: dict[str, tuple[SpaceSpec, ...]] = {
    "HMZX": (
        SpaceSpec(
            "议事空间",
            SpaceKind.DISCUSSION,
            90,
            20,
            "明亮通透的议事空间，供居民和辖区企业召开楼门议事会、居民协商会、党小组会和楼宇联席会，"
            "共商社区事务。配有会议桌椅、投影和白板。工作日开放，预约需社区审核。",
            uses=(
                Use("{b}楼门议事会", (8, 18), (90, 120), ("10:00", "14:30", "19:00"), weight=3),
                Use("党小组会", (6, 12), (60, 90), ("09:00", "15:00", "19:00"), weight=2),
                Use("楼宇企业联席会", (8, 16), (90, 120), ("10:00", "14:00"), who="employee", weight=2),
                Use("物业协调会", (6, 15), (60, 90), ("14:00", "16:00", "19:00")),
                Use("居民议事协商会", (10, 20), (120,), ("09:30", "14:00", "18:30")),
            ),
            per_day=(0, 1, 1, 2, 2, 3),
            weekdays_only=True,
            requires_approval=True,
            max_minutes=180,
        ),
        SpaceSpec(
            "公益空间",
            SpaceKind.PUBLIC_WELFARE,
            105,
            30,
            "温馨的公益空间，用于读书会、亲子手工、志愿者培训、公益讲座和法律咨询等公益活动，"
            "居民和辖区企业员工都可以预约。",
            uses=(
                Use("读书会", (8, 20), (90,), ("14:00", "19:00"), weight=2),
                Use("亲子手工", (10, 24), (90, 120), ("09:30", "14:00", "16:30"), weight=3),
                Use("志愿者培训", (10, 25), (120,), ("09:30", "14:00")),
                Use("老年人智能手机课", (8, 20), (90,), ("09:30", "14:30"), weekend=False),
                Use("公益法律咨询", (4, 10), (120,), ("14:00",), who="employee", weekend=False),
                Use("{ent}公益日", (10, 28), (180,), ("13:30",), who="employee"),
            ),
            per_day=(0, 1, 1, 2, 2),
        ),
        SpaceSpec(
            "活动大厅",
            SpaceKind.ACTIVITY_HALL,
            240,
            50,
            "240平方米的活动大厅，铺木地板，配有镜墙和音响。平时开设瑜伽、民族舞等课程，"
            "空闲时段可预约文体活动和企业团建。",
            uses=(
                Use(
                    "{ent}团建活动",
                    (20, 45),
                    (120, 180),
                    ("09:30", "13:30", "14:00"),
                    who="employee",
                    weight=3,
                ),
                Use("合唱团排练", (15, 35), (120,), ("09:30", "14:00"), weight=2),
                Use("乒乓球友谊赛", (10, 24), (120,), ("14:00", "16:00"), who="anyone"),
                Use("亲子运动会", (20, 45), (180,), ("09:30", "13:30")),
            ),
            per_day=(0, 0, 1, 1, 2),
        ),
    ),
    "AHL": (
        SpaceSpec(
            "会议室",
            SpaceKind.MEETING_ROOM,
            40,
            16,
            "社区服务站二层会议室，可召开楼门议事会、党小组会和居民代表会议，配有投影。",
            uses=(
                Use("{b}楼门议事会", (6, 14), (90, 120), ("10:00", "14:30", "19:00"), weight=3),
                Use("党小组会", (5, 12), (60, 90), ("09:00", "15:00", "19:00"), weight=2),
                Use("老年协会例会", (6, 14), (90,), ("09:30", "14:30"), weekend=False),
                Use("业委会筹备会", (6, 12), (120,), ("19:00",)),
            ),
            per_day=(0, 1, 1, 2),
        ),
        SpaceSpec(
            "活动室",
            SpaceKind.ACTIVITY_HALL,
            80,
            25,
            "居民活动室，开设太极拳课程，也可预约合唱、书法、棋牌和亲子活动。",
            uses=(
                Use("书法练习", (6, 15), (120,), ("09:30", "14:00"), weight=2),
                Use("亲子手工", (8, 20), (90, 120), ("09:30", "14:00", "16:30"), weight=2),
                Use("棋牌活动", (6, 16), (120, 180), ("13:30", "14:00")),
                Use("读书会", (6, 15), (90,), ("19:00",)),
            ),
            per_day=(0, 1, 1, 2),
        ),
    ),
}

COURSES: dict[str, tuple[CourseSpec, ...]] = {
    "HMZX": (
        CourseSpec(
            "瑜伽",
            "活动大厅",
            "林老师",
            20,
            "零基础友好的流瑜伽，舒展肩颈、缓解久坐疲劳，欢迎居民和周边写字楼的上班族。请自带瑜伽垫，穿着舒适衣物。",
            times=((1, "19:00", 60), (3, "19:00", 60)),
            residents=13,
            employees=11,
            ages=(22, 58),
        ),
        CourseSpec(
            "民族舞",
            "活动大厅",
            "赵老师",
            25,
            "以蒙古舞、藏族舞和新疆舞的基本动作为主，兼学广场舞组合，锻炼身体、结交邻里。",
            times=((2, "19:00", 90), (5, "10:00", 90)),
            residents=15,
            employees=3,
            ages=(35, 72),
        ),
    ),
    "AHL": (
        CourseSpec(
            "太极拳",
            "活动室",
            "王师傅",
            20,
            "二十四式简化太极拳，动作舒缓，适合中老年居民强身健体。",
            times=((0, "08:30", 60), (4, "08:30", 60)),
            residents=15,
            employees=0,
            ages=(55, 82),
        ),
    ),
}

SERIES: dict[str, SeriesSpec] = {
    "HMZX": SeriesSpec("公益空间", 2, "19:00", 90, 8, "读书会（每周三）", 12, own_login=True),
    "AHL": SeriesSpec("活动室", 1, "09:30", 120, 6, "合唱团排练（每周二）", 20, own_login=False),
}

BLOCKS: dict[str, tuple[BlockSpec, ...]] = {
    "HMZX": (
        BlockSpec("公益空间", -2, 1, "08:30", "11:30", "空调清洗检修"),
        BlockSpec("活动大厅", 1, 0, "08:30", "12:00", "木地板打蜡保养"),
    ),
    "AHL": (BlockSpec("会议室", 1, 3, "14:00", "17:00", "更换投影设备"),),
}

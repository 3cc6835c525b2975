"""The default category tree a new community starts with. Time limits follow the 12345 rules:
2 h for emergencies, 24 h for water/power/gas/heating, 7 working days ordinary, 15 complex."""

from django.db import transaction

from residents.models import Community
from stations.choices import StationLine, TimeUnit, WorkerType
from stations.models import Category

H, WD = TimeUnit.HOURS, TimeUnit.WORKING_DAYS
L, P, G = WorkerType.LIAISON, WorkerType.PROJECT, WorkerType.GOVERNMENT

# (parent name, worker type, line, [(child name, response limit, unit, resolution limit, unit), …])
DEFAULT_TREE = [
    (
        "政务服务",
        G,
        StationLine.COMMUNITY,
        [
            ("证明开具", 24, H, 3, WD),
            ("社保医保", 24, H, 7, WD),
            ("老年卡与残疾证办理", 24, H, 7, WD),
            ("户籍与居住登记", 24, H, 7, WD),
        ],
    ),
    (
        "为老服务",
        L,
        StationLine.COMMUNITY,
        [
            ("代开药", 24, H, 3, WD),
            ("代买生活用品", 24, H, 2, WD),
            ("助餐助浴", 24, H, 7, WD),
        ],
    ),
    (
        "房屋维修",
        L,
        StationLine.COMMUNITY,
        [
            ("水电气暖故障", 2, H, 24, H),
            ("电梯故障", 2, H, 24, H),
            ("房屋漏水", 24, H, 7, WD),
            ("公共设施损坏", 24, H, 7, WD),
        ],
    ),
    (
        "环境卫生",
        L,
        StationLine.COMMUNITY,
        [
            ("垃圾清运", 24, H, 7, WD),
            ("违章停车", 24, H, 7, WD),
            ("噪音扰民", 24, H, 7, WD),
            ("绿化养护", 24, H, 15, WD),
        ],
    ),
    (
        "矛盾纠纷",
        L,
        StationLine.COMMUNITY,
        [
            ("邻里纠纷", 24, H, 15, WD),
            ("家庭纠纷", 24, H, 15, WD),
            ("物业纠纷", 24, H, 15, WD),
        ],
    ),
    (
        "党建事务",
        P,
        StationLine.PARTY,
        [
            ("组织关系转接", 24, H, 7, WD),
            ("党员活动", 24, H, 7, WD),
            ("志愿服务", 24, H, 7, WD),
        ],
    ),
    (
        "企业服务",
        G,
        StationLine.BUSINESS,
        [
            ("政策咨询", 24, H, 7, WD),
            ("企业员工活动", 24, H, 7, WD),
            ("营商环境诉求", 24, H, 15, WD),
        ],
    ),
    (
        "社区项目",
        P,
        StationLine.COMMUNITY,
        [
            ("政府购买服务项目", 24, H, 15, WD),
            ("文体活动", 24, H, 7, WD),
        ],
    ),
]


@transaction.atomic
def categories_seed(*, community: Community) -> int:
    """Create the default tree for a community; existing categories are left as they are."""
    created = 0
    for position, (parent_name, worker_type, line, children) in enumerate(DEFAULT_TREE):
        parent, made = Category.objects.get_or_create(
            community=community,
            parent=None,
            name=parent_name,
            defaults={"worker_type": worker_type, "line": line, "position": position},
        )
        created += int(made)
        for child_position, (name, response, response_unit, resolution, resolution_unit) in enumerate(
            children
        ):
            _child, made = Category.objects.get_or_create(
                community=community,
                parent=parent,
                name=name,
                defaults={
                    "worker_type": worker_type,
                    "line": line,
                    "position": child_position,
                    "response_limit": response,
                    "response_unit": response_unit,
                    "resolution_limit": resolution,
                    "resolution_unit": resolution_unit,
                },
            )
            created += int(made)
    return created

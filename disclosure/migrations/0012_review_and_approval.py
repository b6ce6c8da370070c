import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('disclosure', '0011_standard_bodies'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='disclosure',
            name='reviewed_by',
            field=models.ForeignKey(blank=True, editable=False, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='审核人'),
        ),
        migrations.AddField(
            model_name='disclosureevent',
            name='body',
            field=models.ForeignKey(blank=True, null=True, on_delete=django.db.models.deletion.PROTECT, related_name='+', to='disclosure.organisation', verbose_name='经办组织'),
        ),
        migrations.AddField(
            model_name='disclosureevent',
            name='migrated',
            field=models.BooleanField(default=False, help_text='由旧的“审核审批”一步记录拆分而来，当时未单独记录保密审查。', verbose_name='迁移记录'),
        ),
        migrations.AddField(
            model_name='disclosureevent',
            name='secrecy_conclusion',
            field=models.TextField(blank=True, verbose_name='保密审查意见'),
        ),
        migrations.AddField(
            model_name='disclosureevent',
            name='secrecy_reviewed',
            field=models.BooleanField(default=False, help_text='审核时确认：不涉及国家秘密、工作秘密、商业秘密和个人隐私。', verbose_name='已保密审查'),
        ),
        migrations.AddField(
            model_name='historicaldisclosure',
            name='reviewed_by',
            field=models.ForeignKey(blank=True, db_constraint=False, editable=False, null=True, on_delete=django.db.models.deletion.DO_NOTHING, related_name='+', to=settings.AUTH_USER_MODEL, verbose_name='审核人'),
        ),
        migrations.AlterField(
            model_name='disclosure',
            name='status',
            field=models.CharField(choices=[('draft', '草稿'), ('submitted', '待审核'), ('reviewed', '已审核待审批'), ('approved', '已审批待发布'), ('published', '已发布'), ('withdrawn', '已撤回')], default='draft', max_length=20, verbose_name='状态'),
        ),
        migrations.AlterField(
            model_name='disclosureevent',
            name='acting_body',
            field=models.CharField(help_text='公开页面上显示的单位，如 村民委员会、镇纪委。', max_length=50, verbose_name='经办单位'),
        ),
        migrations.AlterField(
            model_name='disclosureevent',
            name='action',
            field=models.CharField(choices=[('submitted', '提出'), ('returned', '退回修改'), ('reviewed', '审核'), ('approved', '审批'), ('published', '发布'), ('corrected', '发布后更正'), ('withdrawn', '撤回')], max_length=20, verbose_name='操作'),
        ),
        migrations.AlterField(
            model_name='disclosureevent',
            name='from_status',
            field=models.CharField(choices=[('draft', '草稿'), ('submitted', '待审核'), ('reviewed', '已审核待审批'), ('approved', '已审批待发布'), ('published', '已发布'), ('withdrawn', '已撤回')], max_length=20, verbose_name='原状态'),
        ),
        migrations.AlterField(
            model_name='disclosureevent',
            name='to_status',
            field=models.CharField(choices=[('draft', '草稿'), ('submitted', '待审核'), ('reviewed', '已审核待审批'), ('approved', '已审批待发布'), ('published', '已发布'), ('withdrawn', '已撤回')], max_length=20, verbose_name='新状态'),
        ),
        migrations.AlterField(
            model_name='historicaldisclosure',
            name='status',
            field=models.CharField(choices=[('draft', '草稿'), ('submitted', '待审核'), ('reviewed', '已审核待审批'), ('approved', '已审批待发布'), ('published', '已发布'), ('withdrawn', '已撤回')], default='draft', max_length=20, verbose_name='状态'),
        ),
    ]

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('catalog', '0004_branch_scope'),
    ]

    operations = [
        migrations.CreateModel(
            name='ProcedureRule',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('level', models.CharField(choices=[('town', '镇级'), ('village', '村（社区）级')], max_length=10, verbose_name='层级')),
                ('draft_body', models.CharField(choices=[('party_committee', '党委'), ('discipline', '纪委'), ('office', '党政办'), ('government', '人民政府'), ('party_branch', '党支部'), ('village_committee', '村（居）民委员会'), ('supervision', '村（居）务监督委员会'), ('joint_meeting', '两委联席会议')], help_text='本单位的', max_length=20, verbose_name='提出')),
                ('review_body', models.CharField(choices=[('party_committee', '党委'), ('discipline', '纪委'), ('office', '党政办'), ('government', '人民政府'), ('party_branch', '党支部'), ('village_committee', '村（居）民委员会'), ('supervision', '村（居）务监督委员会'), ('joint_meeting', '两委联席会议')], max_length=20, verbose_name='审核')),
                ('review_by_town', models.BooleanField(default=False, help_text='不勾选则由本单位的该组织审核。', verbose_name='由镇审核')),
                ('approve_body', models.CharField(choices=[('party_committee', '党委'), ('discipline', '纪委'), ('office', '党政办'), ('government', '人民政府'), ('party_branch', '党支部'), ('village_committee', '村（居）民委员会'), ('supervision', '村（居）务监督委员会'), ('joint_meeting', '两委联席会议')], max_length=20, verbose_name='审批')),
                ('approve_by_town', models.BooleanField(default=False, help_text='不勾选则由本单位的该组织审批。', verbose_name='由镇审批')),
                ('publish_body', models.CharField(choices=[('party_committee', '党委'), ('discipline', '纪委'), ('office', '党政办'), ('government', '人民政府'), ('party_branch', '党支部'), ('village_committee', '村（居）民委员会'), ('supervision', '村（居）务监督委员会'), ('joint_meeting', '两委联席会议')], max_length=20, verbose_name='发布')),
                ('publish_by_town', models.BooleanField(default=False, verbose_name='由镇发布')),
                ('catalog', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='procedure_rules', to='catalog.catalog', verbose_name='目录')),
            ],
            options={
                'verbose_name': '公开程序',
                'verbose_name_plural': '公开程序',
                'ordering': ['catalog', 'level'],
                'constraints': [models.UniqueConstraint(fields=('catalog', 'level'), name='procedure_rule_unique_level')],
            },
        ),
    ]

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('disclosure', '0009_records_keep_who_acted_closed_year_range'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='disclosure',
            name='scope',
            field=models.CharField(choices=[('public', '社会公开'), ('inner', '党内公开'), ('branch', '党组织内部公开')], default='public', help_text='党内公开事项下的内容一律为党内公开。', max_length=10, verbose_name='公开范围'),
        ),
        migrations.AlterField(
            model_name='historicaldisclosure',
            name='scope',
            field=models.CharField(choices=[('public', '社会公开'), ('inner', '党内公开'), ('branch', '党组织内部公开')], default='public', help_text='党内公开事项下的内容一律为党内公开。', max_length=10, verbose_name='公开范围'),
        ),
        migrations.CreateModel(
            name='Organisation',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('kind', models.CharField(choices=[('party_committee', '党委'), ('discipline', '纪委'), ('office', '党政办'), ('government', '人民政府'), ('party_branch', '党支部'), ('village_committee', '村（居）民委员会'), ('supervision', '村（居）务监督委员会'), ('joint_meeting', '两委联席会议')], max_length=20, verbose_name='类型')),
                ('name', models.CharField(help_text='公开页面办理记录上显示，如 村民委员会。', max_length=50, verbose_name='名称')),
                ('order', models.PositiveSmallIntegerField(default=0, verbose_name='排序')),
                ('members', models.ManyToManyField(blank=True, help_text='代表本组织在后台审核、审批的工作人员。', related_name='organisations', to=settings.AUTH_USER_MODEL, verbose_name='经办人员')),
                ('unit', models.ForeignKey(on_delete=django.db.models.deletion.PROTECT, related_name='organisations', to='disclosure.unit', verbose_name='单位')),
            ],
            options={
                'verbose_name': '组织',
                'verbose_name_plural': '组织',
                'ordering': ['unit', 'order', 'id'],
                'constraints': [models.UniqueConstraint(fields=('unit', 'name'), name='organisation_name_unique_in_unit')],
            },
        ),
    ]

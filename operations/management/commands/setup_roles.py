from django.core.management.base import BaseCommand

from core.roles import sync_role_groups


class Command(BaseCommand):
    help = "Create the back-office role groups (镇管理员, 审核人, 村务管理员, 党员)."

    def handle(self, *args, **options):
        for name, count in sync_role_groups().items():
            self.stdout.write(f"{name}: {count} permissions")
